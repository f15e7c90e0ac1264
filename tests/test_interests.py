"""Multi-interest users: clustering, the interests build, and audience / similar / profile over it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from index.builds import active_build
from storage.filters import parse_filter
from storage.store import Store
from support.fakes import BagOfWordsEmbedder
from uue.operations import delete_users
from uue.search.builds import build_indexes
from uue.search.interest_build import InterestRows
from uue.search.interests import cluster_labels, set_similarity, user_interests
from uue.search.maintenance import verify_indexes
from uue.search.queries import QueryError, Searcher

CHESS = "chess opening gambit endgame rook"
WORDS = {"hiking": "trail summit mountain hiking boots", "chess": CHESS,
         "baking": "sourdough flour oven baking bread"}
CHATTER = "went to the shop for milk today"
CHESS = CHESS


def chunks(topic: str, n: int, start: int = 0) -> list[str]:
    return [f"{WORDS[topic]} day{start + i}" for i in range(n)]


def record(user_id: str, texts: list[str], country: str = "DE") -> dict:
    return {"user_id": user_id, "metadata": {"country": country},
            "chunks": [{"text": t, "timestamp": f"2024-01-{i + 1:02d}T00:00:00Z"} for i, t in enumerate(texts)]}


def people() -> list[dict]:
    """Chess players (one chess post and chatter), hikers, bakers, and ``minor``: a hiker
    with two chess posts among seven, and ``both``: hiking and baking in equal measure."""
    users = [record(f"chess-{i}", [*chunks("chess", 1, i), CHATTER, f"{CHATTER} {i}"], "FR") for i in range(4)]
    users += [record(f"hiking-{i}", chunks("hiking", 5, 10 * i)) for i in range(3)]
    users += [record(f"baking-{i}", chunks("baking", 5, 10 * i)) for i in range(3)]
    users.append(record("minor", [*chunks("hiking", 5, 50), *chunks("chess", 2, 50)]))
    users.append(record("both", [*chunks("hiking", 3, 70), *chunks("baking", 3, 70)], "FR"))
    return users


def make_home(tmp_path: Path, db_url: str):
    """``(store, home, model, build result)``: ``people()`` and a small pool, indexes built with interests."""
    path, pool = tmp_path / "users.jsonl", tmp_path / "statements.txt"
    path.write_text("\n".join(json.dumps(u) for u in people()) + "\n")
    pool.write_text("\n".join(["plays chess", "enjoys hiking trails", "bakes bread", CHESS]) + "\n")
    home = tmp_path / "home"
    home.mkdir()
    store = Store(db_url)
    store.ingest_file(path, pool)
    store.register_model(str(home / "models" / "bow"), "bag-of-words", 64)
    model = BagOfWordsEmbedder()
    return store, home, model, build_indexes(store, home / "indexes", progress=False, model=model, interests=True)


@pytest.fixture
def served(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("UUE_DATABASE_URL", db_url)
    store, home, model, result = make_home(tmp_path, db_url)
    yield store, home, model, result
    store.close()


def test_disjoint_interests_give_several_clusters_and_one_topic_gives_one():
    bow = BagOfWordsEmbedder()
    two = bow.encode_statements([*chunks("hiking", 5), *chunks("chess", 3)])
    three = bow.encode_statements([*chunks("hiking", 4), *chunks("chess", 3), *chunks("baking", 3)])
    one = bow.encode_statements(chunks("baking", 8))
    labels = cluster_labels(two)
    assert len(set(labels)) == 2 and len(set(labels[:5])) == 1 and len(set(labels[5:])) == 1
    assert len(set(cluster_labels(three))) == 3
    assert len(set(cluster_labels(one))) == 1
    assert len(set(cluster_labels(two[:3]))) == 1  # too few chunks to split


def test_interest_vectors_weights_and_examples():
    bow = BagOfWordsEmbedder()
    history = [*chunks("hiking", 5), CHATTER, *chunks("chess", 2)]
    (found,) = user_interests(bow, [history])
    assert len(found) >= 2 and found.weights[0] == max(found.weights)
    assert np.isclose(found.weights.sum(), 1.0) and found.sizes.sum() == len(history)
    assert "hiking" in history[found.medoids[0]]
    chess = bow.encode_statements([WORDS["chess"]])[0]
    assert (found.vectors @ chess).max() > 0.85 > 0.6 > float(bow.encode_users([history])[0] @ chess)
    # a set covers itself best
    assert set_similarity(found.vectors, found.weights, found.vectors) == pytest.approx(1.0)


def test_build_holds_several_vectors_per_user_that_map_back(served):
    store, home, model, result = served
    assert result.counts["users"] == 12 and result.counts["interests"] > 12
    build = active_build(store, "interests")
    rows = InterestRows.load(Path(build.path).with_suffix(""))
    pks = {store.user_pk(u): u for u in ("minor", "both", "hiking-0", "chess-0")}
    per_user = {name: int((rows.owners == pk).sum()) for pk, name in pks.items()}
    assert per_user["minor"] == 2 and per_user["both"] == 2 and per_user["hiking-0"] == 1
    assert set(np.unique(rows.owners)) == set(store.content_hashes())  # every user, and only users
    assert verify_indexes(store)["ok"], verify_indexes(store)
    hits = Searcher(store, model=model).audience("hiking trail mountain", k=12, interests=True)
    assert len({h.user_id for h in hits}) == len(hits) == 12  # one hit per user, never a row number


def test_audience_finds_a_user_by_their_minor_interest(served):
    store, _, model, _ = served
    searcher = Searcher(store, model=model)
    single = [h.user_id for h in searcher.audience(CHESS, k=4)]
    multi = [h.user_id for h in searcher.audience(CHESS, k=4, interests=True)]
    assert "minor" not in single and multi[0] == "minor"
    assert all(a.score >= b.score for a, b in zip(*[searcher.audience("hiking", k=5, interests=True)] * 2))


def test_filters_and_deletes_hold_inside_the_interest_search(served, tmp_path):
    store, home, model, _ = served
    searcher = Searcher(store, model=model)
    query = CHESS
    french = searcher.audience(query, k=3, user_filter=parse_filter(("country=FR",)), interests=True)
    assert [h.user_id for h in french][:1] != ["minor"] and all(h.user_id != "minor" for h in french)
    german = searcher.audience(query, k=12, user_filter=parse_filter(("country=DE",)), interests=True)
    assert german[0].user_id == "minor" and not any(h.user_id.startswith("chess") for h in german)
    delete_users(store, ["minor"], cache_dir=tmp_path / "cache")
    after = searcher.audience(query, k=12, interests=True)
    assert "minor" not in [h.user_id for h in after] and len(after) == 11  # still k when that many remain
    assert "minor" not in [h.user_id for h in searcher.similar("hiking-0", k=11, interests=True)]


def test_similar_compares_interest_sets(served):
    store, _, model, _ = served
    searcher = Searcher(store, model=model)
    hits = searcher.similar("both", k=11, interests=True)
    assert "both" not in [h.user_id for h in hits] and len(hits) == 11
    top = {h.user_id.split("-")[0] for h in hits[:7]}
    assert top == {"hiking", "baking", "minor"}  # each covers one of both's two interests; chess players none
    assert all(h.user_id.startswith("chess") for h in hits[7:])
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_profile_lists_interests_with_their_statements(served):
    store, _, model, _ = served
    profile = Searcher(store, model=model).profile("minor", k=1, interests=True)
    assert [round(i.weight, 3) for i in profile.interests] == [round(5 / 7, 3), round(2 / 7, 3)]
    assert profile.interests[0].top[0].statement == "enjoys hiking trails"
    assert profile.interests[1].top[0].statement == CHESS and "chess" in profile.interests[1].example
    rows = profile.to_json()
    assert [r["interest"] for r in rows] == [0, 1] and {"statement", "score", "weight"} <= set(rows[0])
    with pytest.raises(QueryError, match="--statement"):
        Searcher(store, model=model).profile("minor", statements=["x"], interests=True)


def test_builds_keep_reuse_and_retire_the_interests(served):
    store, home, model, first = served
    again = build_indexes(store, home / "indexes", progress=False, model=model)  # kept: the active build had them
    assert again.embedded["interests"] == 0 and again.reused["interests"] == 12
    assert again.counts["interests"] == first.counts["interests"]
    assert active_build(store, "interests").id == again.build_ids["interests"]
    searcher = Searcher(store, model=model)
    assert searcher.audience(CHESS, k=1, interests=True)[0].user_id == "minor"
    build_indexes(store, home / "indexes", progress=False, model=model, interests=False)
    with pytest.raises(QueryError, match="uue index build --interests"):
        Searcher(store, model=model).audience("chess", interests=True)
    assert verify_indexes(store)["ok"]


def cli(home: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--home", str(home), *args], env=env)


def test_cli_interests(served):
    store, home, _, _ = served
    query = CHESS
    multi = cli(home, "audience", query, "-k", "1", "--interests", "--json")
    assert multi.exit_code == 0, multi.output
    assert json.loads(multi.output)[0]["user_id"] == "minor"
    by_config = cli(home, "audience", query, "-k", "1", "--json", env={"UUE_INTERESTS": "1"})
    assert json.loads(by_config.output) == json.loads(multi.output)
    off = cli(home, "audience", query, "-k", "1", "--no-interests", "--json", env={"UUE_INTERESTS": "1"})
    assert json.loads(off.output)[0]["user_id"] != "minor"
    similar = cli(home, "similar", "both", "-k", "2", "--interests", "--json")
    assert similar.exit_code == 0 and len(json.loads(similar.output)) == 2
    profile = cli(home, "profile", "minor", "-k", "1", "--interests")
    assert profile.exit_code == 0 and "interest 2: 29% of the chunks (2)" in profile.output
    refused = cli(home, "audience", "--statement", query, "--interests")
    assert refused.exit_code != 0 and "compound audience" in refused.output and "Traceback" not in refused.output


def test_the_whole_interest_audience_to_a_file(served):
    """--out --interests: every user by their best interest, from an exact scan = the ANN search
    over everyone; --min-score and filters honoured."""
    store, home, model, _ = served
    out = home / "a.csv"
    written = cli(home, "audience", CHESS, "--interests", "--out", str(out))
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    searched = Searcher(store, model=model).audience(CHESS, k=len(rows), interests=True)
    assert [r["user_id"] for r in rows] == [h.user_id for h in searched] and rows[0]["user_id"] == "minor"
    assert [float(r["score"]) for r in rows] == pytest.approx([h.score for h in searched], abs=1e-5)
    assert len(rows) == len(store.user_ids(list(range(1, 1000))))
    cut = str(float(rows[1]["score"]) - 1e-4)
    some = cli(home, "audience", CHESS, "--interests", "--out", str(out), "--min-score", cut)
    assert some.exit_code == 0 and [r["user_id"] for r in csv.DictReader(out.open())] == \
        [r["user_id"] for r in rows if float(r["score"]) >= float(cut)]
    searcher = Searcher(store, model=model)
    minor = store.user_pk("minor")
    ids, _ = searcher.interest_search().audience_scores(searcher.statement_vectors([CHESS])[0], np.array([minor]))
    assert ids.tolist() == [minor]  # a filter's allowed users only


def test_http_api_takes_interests(tmp_path, monkeypatch):
    import httpx

    from support.server import running_server
    from uue.serve.settings import ServeSettings
    from uue.serve.state import ServeState

    store, home, model, _ = make_home(tmp_path, f"sqlite:///{tmp_path / 'uue.db'}")
    state = ServeState(store=store, indexes_dir=home / "indexes", settings=ServeSettings(), model=model)
    with running_server(state) as url, httpx.Client(base_url=url, timeout=30) as client:
        single = client.get("/audience", params={"text": CHESS, "k": 1}).json()
        multi = client.get("/audience", params={"text": CHESS, "k": 1, "interests": True}).json()
        assert single[0]["user_id"] != "minor" and multi[0]["user_id"] == "minor"
        monkeypatch.setenv("UUE_INTERESTS", "1")  # the server's default
        assert client.get("/audience", params={"text": CHESS, "k": 1}).json() == multi
        batch = client.post("/audience/batch", json={"statements": [CHESS], "k": 1, "interests": False}).json()
        assert batch[0]["users"] == single
        similar = client.get("/users/both/similar", params={"k": 2, "interests": True})
        assert similar.status_code == 200 and len(similar.json()) == 2
        profile = client.get("/users/minor/profile", params={"k": 1, "interests": True}).json()
        assert [(r["interest"], r["chunks"]) for r in profile] == [(0, 5), (1, 2)] and "chess" in profile[1]["example"]
        refused = client.get("/users/minor/profile", params={"interests": True, "explain": True})
        assert refused.status_code == 422 and "interests" in refused.json()["error"]
        build_indexes(store, home / "indexes", progress=False, model=model, interests=False)
        gone = client.get("/audience", params={"text": CHESS, "interests": True})
        assert gone.status_code == 409 and "uue index build --interests" in gone.json()["error"]
    store.close()


def test_seeded_synthetic_users_with_several_topics_get_several_interests():
    """The packaged MiniLM on seeded synthetic users whose true topics are known: most users with two or
    more topics get two or more interests (a single-topic user's chatter may form its own cluster, so
    single-topic users are not held to one here; the bag-of-words tests above are)."""
    from uue.data.schema import history_texts
    from uue.data.synthetic import SyntheticDataset
    from uue.evaluation.baselines import build_base_embedder
    from uue.evaluation.interests import truth_from_topics

    base = build_base_embedder(None, num_chunks_per_user=0)
    pairs = list(SyntheticDataset(n_users=40, seed=1).iter_users_with_topics())
    found = user_interests(base, [history_texts(record["chunks"]) for record, _ in pairs])
    several = [len(interests) >= 2 for interests, (_, topics) in zip(found, pairs)
               if len(truth_from_topics(topics).topic_chunks) >= 2]
    assert len(several) >= 20 and np.mean(several) >= 0.75
    for interests, (record, _) in zip(found, pairs):
        assert interests.sizes.sum() == len(record["chunks"]) and len(interests) <= 5


def test_minor_interest_metrics_by_hand():
    """Two users: A is mostly x with a little y (y is A's minor interest), B is y. Statement "y" is true
    of both; its top R = 2 holds both in either case, but only multi ranks A first."""
    from uue.evaluation.interests import TruthUser, interest_metrics
    from uue.search.interests import Interests

    x, y, z = np.eye(3, dtype=np.float32)
    single = np.array([(0.9 * x + 0.3 * y) / np.linalg.norm(0.9 * x + 0.3 * y), 0.8 * y + 0.6 * z], np.float32)
    interests = [Interests(np.stack([x, y]), np.array([0.75, 0.25], np.float32), np.array([3, 1]), np.array([0, 3])),
                 Interests(single[1:], np.ones(1, np.float32), np.array([4]), np.array([0]))]
    truth = [TruthUser({"x": 3, "y": 1}, {"x": ("x",), "y": ("y",)}), TruthUser({"y": 4}, {"y": ("y",)})]
    got = interest_metrics(single, interests, np.stack([x, y]), ["x", "y"], [["x", "y"], ["y"]], truth)
    assert got["single"]["minor/n_pairs"] == 1 and got["single"]["minor/user_recall@R"] == 1.0
    assert got["single"]["minor/audience_ndcg@10"] == pytest.approx(1.0)  # both relevant users are the top 2
    assert got["multi"]["minor/audience_ndcg@10"] == pytest.approx(1.0)
    ranks = {name: np.argsort(-(np.stack([x, y]) @ single.T)[1]) for name in ("single",)}
    assert ranks["single"][0] == 1  # single: B first for "y"; multi: A's y interest scores 1.0, first
    assert got["multi"]["clusters/multi_topic_several"] == 1.0 and got["multi"]["clusters/single_topic_one"] == 1.0
    assert got["multi"]["clusters/mean_interests"] == 1.5
