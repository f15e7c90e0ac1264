"""Index builds from the store and the three queries, with a bag-of-words embedder.

Covers incremental builds, the atomic switch (a failed or killed rebuild leaves the old
build serving), verify, filters inside the search, and the CLI's refusals.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from index.builds import active_build
from storage.filters import parse_filter
from storage.store import Store
from support.served_workspace import bow_workspace
from uue.search.builds import build_indexes
from uue.search.maintenance import verify_indexes
from uue.search.queries import QueryError, Searcher

TOPICS = {"hiking": "trail summit mountain hiking boots", "baking": "sourdough flour oven baking bread",
          "chess": "chess opening gambit endgame rook"}


def users_jsonl(path: Path, n_per_topic: int = 6) -> Path:
    lines = []
    for t, (topic, words) in enumerate(TOPICS.items()):
        for i in range(n_per_topic):
            country = "DE" if i % 2 == 0 else "FR"
            lines.append({"user_id": f"{topic}-{i}", "metadata": {"country": country},
                          "chunks": [{"text": f"{words} day {i}", "platform": "reddit" if i < 3 else "forum",
                                      "timestamp": f"2024-0{1 + t}-1{i}T00:00:00Z"}],
                          "statements": [f"enjoys {topic}"]})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


@pytest.fixture
def served(tmp_path, db_url, monkeypatch):
    """An ingested store with built indexes, on SQLite and on PostgreSQL (the CLI is pointed at it)."""
    monkeypatch.setenv("UUE_DATABASE_URL", db_url)
    store, home, model, result = bow_workspace(tmp_path, users_jsonl(tmp_path / "users.jsonl"), db_url)
    yield store, home, model, result
    store.close()


def test_build_then_three_queries(served):
    store, home, model, result = served
    assert result.counts == {"users": 18, "statements": 3}
    searcher = Searcher(store, model=model)
    top = searcher.audience("enjoys hiking trail mountain", k=6)
    assert {h.user_id.split("-")[0] for h in top} == {"hiking"}
    assert all(a.score >= b.score for a, b in zip(top, top[1:]))
    similar = searcher.similar("chess-0", k=5)
    assert "chess-0" not in [h.user_id for h in similar]
    assert {h.user_id.split("-")[0] for h in similar} == {"chess"}
    profile = searcher.profile("baking-2", k=2, statements=["loves sourdough bread", "plays chess"])
    assert profile.top[0].statement == "enjoys baking"
    assert profile.scored[0].score > profile.scored[1].score


def test_filters_apply_inside_the_search(served):
    store, _, model, _ = served
    searcher = Searcher(store, model=model)
    hits = searcher.audience("hiking trail", k=10, user_filter=parse_filter(["country=FR"]))
    assert hits and all(int(h.user_id.split("-")[1]) % 2 == 1 for h in hits)
    hits = searcher.similar("hiking-0", k=10, user_filter=parse_filter(["platform=forum"], since="2024-02-01"))
    assert {h.user_id for h in hits} == {"baking-3", "baking-4", "baking-5", "chess-3", "chess-4", "chess-5"}
    assert searcher.audience("hiking", k=3, user_filter=parse_filter(["country=US"])) == []


def test_incremental_build_embeds_only_changes(served, tmp_path):
    store, home, model, first = served
    changed = {"user_id": "chess-1", "chunks": [{"text": "now I only bake sourdough bread"}]}
    new = {"user_id": "newbie", "chunks": [{"text": "mountain trail again"}]}
    path = tmp_path / "more.jsonl"
    path.write_text(json.dumps(changed) + "\n" + json.dumps(new) + "\n")
    store.ingest_file(path)
    assert verify_indexes(store)["problems"]  # newbie has no vector yet
    second = build_indexes(store, home / "indexes", progress=False, model=model)
    assert second.embedded == {"users": 2, "statements": 0} and second.reused["users"] == 17
    assert second.build_ids["users"] != first.build_ids["users"]
    report = verify_indexes(store)
    assert report["ok"] and report["stale"] == {"users": 0, "statements": 0}
    full = build_indexes(store, home / "indexes", progress=False, model=model, full=True)
    assert full.embedded["users"] == 19
    assert [h.user_id for h in Searcher(store, model=model).similar("chess-1", k=1)][0].startswith("baking")


def test_failed_rebuild_leaves_old_build_serving(served, monkeypatch):
    store, home, model, first = served
    files_before = sorted(p.name for p in (home / "indexes").iterdir())
    import index.vectors

    def explode(self, stem):
        raise KeyboardInterrupt  # as if the process were interrupted mid-write

    monkeypatch.setattr(index.vectors.VectorSet, "save", explode)
    with pytest.raises(KeyboardInterrupt):
        build_indexes(store, home / "indexes", progress=False, model=model, full=True)
    assert active_build(store, "users").id == first.build_ids["users"]
    assert sorted(p.name for p in (home / "indexes").iterdir()) == files_before
    assert Searcher(store, model=model).similar("hiking-1", k=2)


KILLED_BUILD = textwrap.dedent("""
    import sys, time
    from storage.store import Store
    from support.fakes import BagOfWordsEmbedder
    from uue.search.builds import build_indexes

    class Slow(BagOfWordsEmbedder):
        def encode_users(self, histories, **kw):
            print("embedding", flush=True)
            time.sleep(60)

    store = Store(sys.argv[1])
    build_indexes(store, __import__("pathlib").Path(sys.argv[2]), progress=False, model=Slow(), full=True)
""")


def test_killed_rebuild_leaves_old_build_serving(served):
    store, home, model, first = served
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, store.url, str(home / "indexes")],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent)
    assert proc.stdout.readline().strip() == "embedding"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert active_build(store, "users").id == first.build_ids["users"]
    assert verify_indexes(store)["ok"]
    assert Searcher(store, model=model).audience("enjoys chess", k=1)[0].user_id.startswith("chess")


def test_searcher_picks_up_a_rebuild(served):
    store, home, model, _ = served
    searcher = Searcher(store, model=model)
    searcher.similar("hiking-0", k=1)
    second = build_indexes(store, home / "indexes", progress=False, model=model, full=True)
    searcher.similar("hiking-0", k=1)
    assert searcher._loaded["users"].build.id == second.build_ids["users"]


def test_corrupt_or_foreign_index_is_refused(served):
    store, home, model, _ = served
    path = Path(active_build(store, "users").path)
    path.write_bytes(b"garbage" + path.read_bytes()[7:])
    report = verify_indexes(store)
    assert not report["ok"] and any("checksum" in p for p in report["problems"])
    with pytest.raises(Exception, match="uue index rebuild"):
        Searcher(store, model=model).similar("hiking-0")
    build_indexes(store, home / "indexes", progress=False, model=model, full=True)
    store.register_model(str(home / "models" / "other"), "bag-of-words", 32)
    with pytest.raises(QueryError, match="active model is #2: run `uue index rebuild`"):
        Searcher(store, model=model).similar("hiking-0")


def test_checksum_is_checked_once_per_build_file(served, monkeypatch):
    import uue.search.loaded as search

    store, home, model, _ = served
    calls = []
    real = search.load_index
    monkeypatch.setattr(search, "load_index", lambda path, mmap=False, checksum=None:
                        calls.append(checksum) or real(path, mmap=mmap, checksum=checksum))
    Searcher(store, model=model).similar("hiking-0", k=1)
    Searcher(store, model=model).similar("hiking-0", k=1)  # same process, same file: not hashed again
    assert calls == [active_build(store, "users").checksum, None]
    path = Path(active_build(store, "users").path)
    path.write_bytes(path.read_bytes())  # rewritten in place: checked again
    Searcher(store, model=model).similar("hiking-0", k=1)
    assert calls[-1] == active_build(store, "users").checksum
    calls.clear()
    Searcher(store, model=model, verify=False, mmap=True).similar("hiking-0", k=1)  # the escape hatch
    assert calls == [None]


def cli(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_same_size_corruption_is_refused_by_checksum(served):
    """Bytes flipped in place (size unchanged, file still parses): the query refuses it."""
    store, home, _, _ = served
    before = cli(home, "audience", "enjoys baking", "-k", "3", "--json")
    assert before.exit_code == 0, before.output
    path = Path(active_build(store, "users").path)
    data = bytearray(path.read_bytes())
    data[100:200] = bytes(b ^ 0x5A for b in data[100:200])
    path.write_bytes(bytes(data))
    result = cli(home, "audience", "enjoys baking", "-k", "3", "--json")
    assert result.exit_code == 1, result.output
    assert "checksum" in result.output and "uue index rebuild" in result.output
    assert "Traceback" not in result.output


def test_cli_queries_and_refusals(served):
    store, home, _, _ = served
    ok = cli(home, "similar", "hiking-0", "-k", "3", "--json")
    assert ok.exit_code == 0, ok.output
    hits = json.loads(ok.output)
    assert len(hits) == 3 and set(hits[0]) == {"user_id", "score"}
    pool = cli(home, "audience", "enjoys baking", "-k", "2", "--where", "country=DE", "--json")
    assert pool.exit_code == 0, pool.output
    assert [h["user_id"].split("-")[0] for h in json.loads(pool.output)] == ["baking", "baking"]
    prof = cli(home, "profile", "chess-2", "-k", "1", "--json")
    assert json.loads(prof.output)[0]["statement"] == "enjoys chess"
    text = cli(home, "profile", "chess-2", "-k", "2")
    assert "1. " in text.output and "enjoys chess" in text.output
    for args, message in [
        (("similar", "nobody"), "unknown user 'nobody'"),
        (("similar", "hiking-0", "-k", "0"), "-k must be between 1 and"),
        (("similar", "hiking-0", "-k", "99999999"), "-k must be between 1 and"),
        (("audience", "  "), "the statement is empty"),
        (("audience", "enjoys chess", "--where", "country"), "expected KEY=VALUE"),
        (("audience", "enjoys chess", "--where", "shoe=42"), "unknown filter key 'shoe'"),
        (("similar", "hiking-0", "--since", "someday"), "not an ISO 8601"),
    ]:
        result = cli(home, *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert cli(home, "index", "verify").exit_code == 0
    stats = json.loads(cli(home, "index", "stats", "--json").output)
    assert stats["active"]["users"]["count"] == 18


def test_no_index_yet(tmp_path):
    home = tmp_path / "empty"
    result = cli(home, "similar", "anyone")
    assert result.exit_code == 1 and "Traceback" not in result.output and "no UUE workspace" in result.output
    home.mkdir()
    store = Store(f"sqlite:///{home / 'uue.db'}")
    store.ingest_file(users_jsonl(tmp_path / "u.jsonl", 1))
    store.register_model("m", "bow", 64)
    result = cli(home, "similar", "hiking-0")
    assert result.exit_code == 1 and "index built yet: run `uue index build`" in result.output


def test_filter_cache_is_invalidated_by_ingest(served, tmp_path):
    store, _, model, _ = served
    searcher = Searcher(store, model=model)
    de = parse_filter(["country=DE"])
    first = searcher.allowed_ids(de)
    assert searcher.allowed_ids(de) is first  # served from the cache
    path = tmp_path / "more.jsonl"
    path.write_text(json.dumps({"user_id": "late", "metadata": {"country": "DE"},
                                "chunks": [{"text": "chess rook"}]}) + "\n")
    store.ingest_file(path)
    again = searcher.allowed_ids(de)
    assert len(again) == len(first) + 1


def test_profile_scores_are_calibrated_per_statement(served):
    store, home, model, _ = served
    searcher = Searcher(store, model=model)
    users = searcher.loaded_build("users").vectors
    statements = searcher.loaded_build("statements").vectors
    stats = searcher.loaded_build("statements").calibration
    assert stats is not None and stats.shape == (3, 2)
    scores = users.vectors @ statements.vectors.T  # 18 users < the calibration sample: every user
    np.testing.assert_allclose(stats[:, 0], scores.mean(0), atol=1e-5)
    np.testing.assert_allclose(stats[:, 1], scores.std(0), atol=1e-5)
    _, query = searcher.user_vector("baking-2")
    expected = (statements.vectors @ query - stats[:, 0]) / stats[:, 1]
    profile = searcher.profile("baking-2", k=3, statements=["enjoys chess"], calibrated=True)
    texts = store.statement_texts(statements.ids.tolist())
    assert [(h.statement, round(h.score, 4)) for h in profile.top] == \
        sorted(((texts[int(i)], round(float(e), 4)) for i, e in zip(statements.ids, expected)), key=lambda x: -x[1])
    chess = texts[int(statements.ids[[texts[int(i)] for i in statements.ids].index("enjoys chess")])]
    assert profile.scored[0].score == pytest.approx(next(h.score for h in profile.top if h.statement == chess),
                                                    abs=1e-4)  # free text: calibrated on the same users
    raw = searcher.profile("baking-2", k=3)  # the default: cosines
    assert sorted(h.score for h in raw.top) == pytest.approx(sorted((statements.vectors @ query).tolist()), abs=1e-5)
    printed = cli(home, "profile", "baking-2", "-k", "3", "--calibrated", "--json")
    assert [h["score"] for h in json.loads(printed.output)] == pytest.approx([h.score for h in profile.top], abs=1e-4)


def test_calibrated_profile_of_a_build_without_statistics_asks_for_a_rebuild(served):
    store, home, model, _ = served
    from storage.tables import IndexBuild
    from uue.search.builds import build_stem
    from uue.search.calibration import calibration_path

    searcher = Searcher(store, model=model)
    build = searcher.loaded_build("statements").build
    calibration_path(build_stem(build)).unlink()  # as an older build left it: no statistics, no file checksums
    with store.session() as s:
        s.get(IndexBuild, build.id).files = None
    fresh = Searcher(store, model=model)
    assert fresh.profile("chess-2", k=1).top[0].statement == "enjoys chess"  # raw still works
    with pytest.raises(QueryError, match="uue index rebuild"):
        fresh.profile("chess-2", k=1, calibrated=True)
