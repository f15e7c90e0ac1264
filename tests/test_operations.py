"""Data operations: ingest --append, delete (gone from every result at once, then from the
next build), list users, roll back models, audience export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from index import load_index
from index.builds import active_build
from storage.errors import NotFound, UUEError
from storage.filters import parse_filter
from storage.store import Store
from storage.tables import Chunk, DeletedUser
from support.fakes import BagOfWordsEmbedder
from support.records import user_line
from uue.operations import activate_model, delete_users, export_audience, list_models, list_users
from uue.search.builds import build_indexes
from uue.search.maintenance import verify_indexes
from uue.search.queries import Searcher

TOPICS = {"hiking": "trail summit mountain hiking boots", "baking": "sourdough flour oven baking bread",
          "chess": "chess opening gambit endgame rook"}


NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def topic_users(n_per_topic: int = 6) -> list[dict]:
    return [{"user_id": f"{topic}-{i}", "metadata": {"country": "DE" if i % 2 == 0 else "FR"},
             "chunks": [{"text": f"{words} {NAMES[i]}", "platform": "reddit"}], "statements": [f"enjoys {topic}"]}
            for topic, words in TOPICS.items() for i in range(n_per_topic)]


@pytest.fixture(params=["Flat", "HNSW16"])
def served(request, tmp_path, write_jsonl, db_url):
    """18 users indexed with a bag-of-words model, on SQLite and on PostgreSQL (``db_url``)."""
    home = tmp_path / "home"
    store = Store(db_url)
    store.ingest_file(write_jsonl(topic_users()))
    store.register_model(str(home / "models" / "bow"), "bag-of-words", 64)
    model = BagOfWordsEmbedder()
    build_indexes(store, home / "indexes", factory=request.param, progress=False, model=model)
    yield store, home, model
    store.close()


# ---- append -------------------------------------------------------------------------------


def test_append_adds_chunks_labels_and_metadata(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("u1", n_chunks=2, split="train")]))
    before = store.content_hashes()
    line = user_line("u1", n_chunks=3, statements=["likes maps"], traits={"grit": 0.9},
                     metadata={"city": "Berlin"})  # chunks 0 and 1 are stored already
    result = store.ingest_file(write_jsonl([line, user_line("u2")], "more.jsonl"), append=True)
    assert result["users_appended"] == 1 and result["users_added"] == 1
    assert result["chunks"] == 1 + 2 and result["chunks_already_stored"] == 2
    pk, record = store.get_user("u1")
    assert [c["text"] for c in record["chunks"]] == ["post 0 of u1", "post 1 of u1", "post 2 of u1"]
    assert sorted(record["statements"]) == ["enjoys hiking", "likes maps"]
    assert record["negative_statements"] == ["dislikes nature"]
    assert record["traits"] == {"openness": 0.5, "grit": 0.9}
    assert record["metadata"] == {"country": "DE", "city": "Berlin"}
    assert record["split"] == "train"  # the stored split stays
    assert store.content_hashes()[pk] != before[pk]
    with store.session() as s:
        positions = list(s.scalars(select(Chunk.position).where(Chunk.user_pk == pk).order_by(Chunk.position)))
    assert positions == [0, 1, 2]
    assert parse_and_resolve(store, "city=Berlin") == [pk]


def parse_and_resolve(store, where: str) -> list[int]:
    from storage.filters import resolve_filter

    return resolve_filter(store, parse_filter([where])).tolist()


def test_appending_the_same_file_twice_adds_nothing(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("u1")]))
    path = write_jsonl([user_line("u1", n_chunks=4)], "more.jsonl")
    assert store.ingest_file(path, append=True)["chunks"] == 2
    hashes = store.content_hashes()
    again = store.ingest_file(path, append=True)
    assert again["chunks"] == 0 and again["chunks_already_stored"] == 4
    assert store.content_hashes() == hashes and len(store.get_user("u1")[1]["chunks"]) == 4


def test_a_bad_line_in_an_append_writes_nothing(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("u1")]))
    path = write_jsonl([user_line("u1", n_chunks=3), {"user_id": "u3", "chunks": []}], "bad.jsonl")
    with pytest.raises(UUEError, match="bad.jsonl:2"):
        store.ingest_file(path, append=True)
    assert len(store.get_user("u1")[1]["chunks"]) == 2


def test_append_embeds_only_the_new_chunks(tmp_path, write_jsonl, monkeypatch):
    """A locked model re-pools the appended user from the chunk-vector cache: one new chunk
    costs one chunk embedding, and the other users reuse their vectors."""
    import torch

    from support.tiny_models import tiny_bert
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel

    words = [f"w{i}" for i in range(30)]
    model = UniversalUserEmbeddingModel.from_config(
        ModelConfig(base_model_name=str(tiny_bert(tmp_path / "bert", words)), attention_heads=4)).eval()
    assert model.config.training_mode == "locked"
    with torch.no_grad():
        model.chunk_pooling.query.normal_(0, 1.0)
    rng = np.random.default_rng(0)
    users = [{"user_id": f"u{i}", "chunks": [{"text": " ".join(rng.choice(words, 4))} for _ in range(5)]}
             for i in range(6)]
    store = Store(f"sqlite:///{tmp_path / 'uue.db'}")
    store.ingest_file(write_jsonl(users))
    store.register_model(str(tmp_path / "m"), "tiny", model.embedding_dim)
    cache_dir = tmp_path / "cache"
    build_indexes(store, tmp_path / "indexes", progress=False, model=model, cache_dir=cache_dir)
    calls: list[int] = []
    original = model.encoder.encode_ids
    monkeypatch.setattr(model.encoder, "encode_ids", lambda ids: calls.append(len(ids)) or original(ids))
    appended = {"user_id": "u2", "chunks": [{"text": "w1 w2 w3 w29 w28"}]}
    store.ingest_file(write_jsonl([appended], "today.jsonl"), append=True)
    result = build_indexes(store, tmp_path / "indexes", progress=False, model=model, cache_dir=cache_dir)
    assert result.embedded["users"] == 1 and result.reused["users"] == 5
    assert sum(calls) == 1  # the one new chunk; the user's five stored chunks came from the cache
    whole = model.encode_users([[c["text"] for c in users[2]["chunks"]] + ["w1 w2 w3 w29 w28"]])[0]
    searcher = Searcher(store, model=model)
    np.testing.assert_allclose(searcher.user_vector("u2")[1], whole, rtol=1e-4, atol=1e-5)
    store.close()


# ---- delete -------------------------------------------------------------------------------


def test_a_deleted_user_leaves_every_result_at_once_and_the_next_build_drops_it(served):
    store, home, model = served
    searcher = Searcher(store, model=model)
    assert searcher.audience("hiking trail summit mountain alpha", k=1)[0].user_id == "hiking-0"
    pk = store.user_pk("hiking-0")
    summary = delete_users(store, ["hiking-0", "nobody"])
    assert summary["deleted"] == ["hiking-0"] and summary["unknown"] == ["nobody"] and summary["chunks"] == 1
    # the same Searcher (a long-running server) and a new one: never hiking-0, still k results
    for s in (searcher, Searcher(store, model=model)):
        for k in (1, 6, 17):
            hits = s.audience("hiking trail summit mountain alpha", k=k)
            assert len(hits) == k and "hiking-0" not in [h.user_id for h in hits]
        hits = s.audience("hiking trail", k=10, user_filter=parse_filter(["country=DE"]))
        assert len(hits) == 8 and "hiking-0" not in [h.user_id for h in hits]
        similar = s.similar("hiking-2", k=17)
        assert len(similar) == 16 and "hiking-0" not in [h.user_id for h in similar]
        ids, _ = s.audience_scores("hiking trail")
        assert pk not in ids.tolist() and len(ids) == 17
        for query in (s.profile, s.similar):
            with pytest.raises(NotFound, match="unknown user 'hiking-0'"):
                query("hiking-0")
    with pytest.raises(NotFound):
        store.get_user("hiking-0")
    assert "hiking-0" not in [u["user_id"] for u in list_users(store, limit=100)["users"]]
    assert pk in load_index(active_build(store, "users").path).ids()  # still in the old build's file
    result = build_indexes(store, home / "indexes", progress=False, model=model)
    assert result.counts["users"] == 17
    assert pk not in load_index(active_build(store, "users").path).ids()  # the next build dropped it
    assert verify_indexes(store)["ok"]
    assert len(searcher.audience("hiking trail", k=17)) == 17


def test_a_new_user_never_takes_a_deleted_users_id(served, write_jsonl):
    store, _, model = served
    last = max(store.user_pks())
    name = store.user_ids([last])[last]
    delete_users(store, [name])
    store.ingest_file(write_jsonl([user_line("newcomer")], "new.jsonl"))
    assert store.user_pk("newcomer") > last
    with store.session() as s:
        assert s.scalar(select(DeletedUser.id)) == last
    # the deleted user's vector is not served under the newcomer's name either
    assert "newcomer" not in [h.user_id for h in Searcher(store, model=model).audience("chess rook", k=17)]


def test_delete_purges_the_cached_chunk_vectors(store, tmp_path, write_jsonl):
    from uue.model.chunk_cache import ChunkVectorCache, chunk_key

    store.ingest_file(write_jsonl([user_line("u1"), user_line("u2")]))
    cache = ChunkVectorCache.for_encoder(tmp_path / "cache", "f" * 24, 4)
    texts = ["post 0 of u1", "post 1 of u1", "post 0 of u2"]
    cache.put([chunk_key(t) for t in texts], np.ones((3, 4), np.float32))
    summary = delete_users(store, ["u1"], cache_dir=tmp_path / "cache")
    assert summary["cached_vectors"] == 2
    assert list(cache.get([chunk_key(t) for t in texts])) == [chunk_key("post 0 of u2")]


def test_delete_refuses_nothing_to_do_and_unknown_ids_when_asked(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("u1")]))
    with pytest.raises(UUEError, match="no user ids given"):
        delete_users(store, [])
    with pytest.raises(UUEError, match="unknown user.*'ghost'.*nothing deleted"):
        delete_users(store, ["u1", "ghost"], missing_ok=False)
    assert store.user_pk("u1")


# ---- list users, models, export -------------------------------------------------------------


def test_list_users_through_a_filter(store, write_jsonl):
    store.ingest_file(write_jsonl(topic_users(3)))
    everyone = list_users(store, limit=4)
    assert everyone["total"] == 9 and [u["user_id"] for u in everyone["users"]] == [
        "hiking-0", "hiking-1", "hiking-2", "baking-0"]
    french = list_users(store, parse_filter(["country=FR"]))
    assert french["total"] == 3 and {u["user_id"] for u in french["users"]} == {"hiking-1", "baking-1", "chess-1"}
    assert french["users"][0]["metadata"] == {"country": "FR"} and french["users"][0]["chunks"] == 1
    assert [u["user_id"] for u in list_users(store, limit=2, offset=8)["users"]] == ["chess-2"]


def test_models_list_and_roll_back(served, tmp_path):
    store, home, model = served
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"weights")
    old = store.register_model(str(tmp_path / "old"), "bow", 64, activate=False)
    new = store.register_model(str(tmp_path / "new"), "bow", 64)
    listed = {m["id"]: m for m in list_models(store)}
    assert listed[new]["active"] and not listed[old]["active"] and listed[old]["on_disk"]
    assert activate_model(store, old)["active"]
    assert [m["id"] for m in list_models(store) if m["active"]] == [old]
    with pytest.raises(UUEError, match="made with model"):  # queries refuse the other model's builds
        Searcher(store, model=model).audience("hiking", k=3)
    with pytest.raises(NotFound, match="unknown model #999"):
        activate_model(store, 999)
    first = min(listed)
    with pytest.raises(UUEError, match="weights .* are missing"):
        activate_model(store, first)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_audience_export_has_no_cap_and_a_min_score(served, tmp_path, suffix, monkeypatch):
    import uue.search.results as results

    store, _, model = served
    monkeypatch.setattr(results, "MAX_K", 5)  # the query cap does not apply to exports
    searcher = Searcher(store, model=model)
    out = tmp_path / f"audience{suffix}"
    assert export_audience(searcher, "hiking trail", out) == 18
    rows = (list(csv.DictReader(out.open())) if suffix == ".csv"
            else [json.loads(line) for line in out.read_text().splitlines()])
    assert len(rows) == 18 and [int(r["rank"]) for r in rows] == list(range(1, 19))
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    top = searcher.audience("hiking trail", k=3)
    assert [r["user_id"] for r in rows[:3]] == [h.user_id for h in top]
    assert {r["user_id"].split("-")[0] for r in rows[:6]} == {"hiking"} and scores[5] > scores[6]
    assert export_audience(searcher, "hiking trail", out, min_score=(scores[5] + scores[6]) / 2) == 6
    assert export_audience(searcher, "hiking trail", out, user_filter=parse_filter(["country=FR"]), limit=4) == 4
    with pytest.raises(UUEError, match=r"\*.csv or \*.jsonl"):
        export_audience(searcher, "hiking", tmp_path / "audience.xlsx")


def test_export_path_written_atomically(served, tmp_path):
    store, _, model = served
    target = tmp_path / "out.csv"
    target.write_text("previous")
    with pytest.raises(UUEError):
        export_audience(Searcher(store, model=model), "   ", target)
    assert Path(target).read_text() == "previous"
