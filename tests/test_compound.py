"""Compound audiences (``uue.search.compound``): parsing, exact ground truth, filters, the CLI.

The index holds four groups whose truth is known by construction: ``both`` users post
mostly about hiking and as much about camping, ``hiker`` users about hiking only (less of
it, so a plain "enjoys hiking" ranks every ``both`` user first), ``camper`` and ``baker``
users. "enjoys hiking, not enjoys camping" must return exactly the hikers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from storage.filters import parse_filter
from support.served_workspace import bow_workspace
from uue.search.compound import CompoundScorer, compound_scores, positive_vector
from uue.search.compound_query import CompoundQuery, CompoundQueryError, Term
from uue.search.queries import QueryError, Searcher

HIKING = "trail summit mountain hiking boots"
CAMPING = "camping tent campfire sleeping bag"
BAKING = "sourdough flour oven baking bread"
CHATTER = ["went to the shop for milk today", "the weather was grey and rainy"]
GROUPS = {"both": ([HIKING] * 3 + [CAMPING] * 3, ["enjoys hiking", "enjoys camping"]),
          "hiker": ([HIKING, *CHATTER, CHATTER[0]], ["enjoys hiking"]),
          "camper": ([CAMPING, CHATTER[0]], ["enjoys camping"]),
          "baker": ([BAKING, CHATTER[1]], ["enjoys baking"])}
N = 4  # users per group


def users() -> list[dict]:
    out = []
    for i in range(N):
        for group, (chunks, statements) in GROUPS.items():
            out.append({"user_id": f"{group}-{i}", "metadata": {"country": "DE" if i % 2 == 0 else "FR"},
                        "chunks": [{"text": f"{c} day {i}", "platform": "forum",
                                    "timestamp": f"2024-0{1 + i}-0{j + 1}T00:00:00Z"} for j, c in enumerate(chunks)],
                        "statements": statements})
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("compound")
    path = root / "users.jsonl"
    path.write_text("\n".join(json.dumps(u) for u in users()) + "\n")
    store, home, model, _ = bow_workspace(root, path)
    yield Searcher(store, model=model), home
    store.close()


@pytest.fixture(scope="module")
def http(served):
    """``uue serve``'s API over the same index, on a real server."""
    from support.server import running_server
    from uue.serve.settings import ServeSettings
    from uue.serve.state import ServeState

    searcher, home = served
    state = ServeState(store=searcher.store, indexes_dir=home / "indexes", settings=ServeSettings(),
                       model=searcher.model())
    with running_server(state) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def group(hits) -> list[str]:
    return [h.user_id.split("-")[0] for h in hits]


# ---- parsing ----------------------------------------------------------------------------

def test_weights_follow_a_caret():
    q = CompoundQuery.parse(["enjoys hiking", "works 9:00-17:00^0.5"], ["enjoys camping^2"], ["u1^3"], ["u2"])
    assert q.terms == (Term("statement", "enjoys hiking"), Term("statement", "works 9:00-17:00", 0.5),
                       Term("statement", "enjoys camping", 2.0, negative=True), Term("user", "u1", 3.0),
                       Term("user", "u2", 1.0, negative=True))
    assert [t.option for t in q.negatives] == ["--not-statement", "--unlike-user"]
    assert CompoundQuery.parse(["likes dogs ^ 2"]).terms == (Term("statement", "likes dogs", 2.0),)
    assert CompoundQuery.parse(["likes dogs^2"]).single_statement == "likes dogs"
    assert CompoundQuery.parse(["a"], ["b"]).single_statement is None
    assert CompoundQuery.of(["a", ("b", 2.0)], like_users=["u1"]).terms[1] == Term("statement", "b", 2.0)


@pytest.mark.parametrize("kwargs, says", [
    ({"statements": ["likes dogs^a lot"]}, "'a lot' is not a number"),
    ({"statements": ["x^2^3"]}, "more than one '^'"),
    ({"statements": ["likes dogs^0"]}, "above 0"),
    ({"statements": ["likes dogs^-1"]}, "above 0"),
    ({"statements": ["likes dogs^nan"]}, "above 0"),
    ({"statements": ["likes dogs^inf"]}, "above 0"),
    ({"statements": ["likes dogs^1000"]}, "at most 100"),
    ({"statements": ["^2"]}, "--statement is empty"),
    ({"like_users": ["  "]}, "--like-user is empty"),
    ({"statements": ["a", "a^2"]}, "given twice"),
    ({"statements": ["a"], "not_statements": ["a"]}, "both wanted (--statement) and excluded (--not-statement)"),
    ({"like_users": ["u1"], "unlike_users": ["u1^2"]}, "both wanted (--like-user) and excluded (--unlike-user)"),
    ({"not_statements": ["a"], "unlike_users": ["u1"]}, "only exclusions given"),
    ({}, "give at least one --statement or --like-user"),
])
def test_ambiguous_input_is_refused(kwargs, says):
    with pytest.raises(CompoundQueryError, match=None) as err:
        CompoundQuery.parse(**kwargs)
    assert says in str(err.value)


def test_scoring_is_the_documented_formula():
    rng = np.random.default_rng(0)
    users_ = rng.standard_normal((50, 8)).astype(np.float32)
    users_ /= np.linalg.norm(users_, axis=1, keepdims=True)
    a, b, n = (v / np.linalg.norm(v) for v in rng.standard_normal((3, 8)).astype(np.float32))
    p = positive_vector(np.stack([a, b]), np.array([1.0, 3.0]))
    assert np.allclose(p, (a + 3 * b) / np.linalg.norm(a + 3 * b), atol=1e-6)
    scorer = CompoundScorer.build(np.stack([a, b]), np.array([1.0, 3.0]), n[None], np.array([2.0]), users_)
    z = (users_ @ n - (users_ @ n).mean()) / (users_ @ n).std()
    expected = users_ @ p - (users_ @ p).std() * 0.5 * 2.0 * np.maximum(z, 0)
    assert np.allclose(scorer.score(users_), expected, atol=1e-5)
    with pytest.raises(QueryError, match="cancel out"):
        positive_vector(np.stack([a, -a]), np.array([1.0, 1.0]))


# ---- the searcher ---------------------------------------------------------------------

def test_a_and_not_b_is_exactly_the_known_audience(served):
    searcher, _ = served
    naive = searcher.audience("enjoys hiking", k=N)
    assert group(naive) == ["both"] * N  # the plain statement ranks the campers-too first
    query = CompoundQuery.parse(["enjoys hiking"], ["enjoys camping^2"])
    hits = searcher.compound_audience(query, k=N)
    assert sorted(h.user_id for h in hits) == [f"hiker-{i}" for i in range(N)]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    # a weight-1 exclusion already costs the both-users their lead (scores are lowered, never raised)
    soft = {h.user_id: h.score for h in searcher.compound_audience(CompoundQuery.parse(["enjoys hiking"],
                                                                                       ["enjoys camping"]), k=8)}
    plain = {h.user_id: h.score for h in searcher.audience("enjoys hiking", k=8)}
    assert soft["hiker-0"] == pytest.approx(plain["hiker-0"], abs=1e-5)
    assert soft["both-0"] < plain["both-0"] - 0.02


def test_one_statement_is_the_plain_audience(served):
    searcher, _ = served
    plain = searcher.audience("enjoys baking", k=5)
    assert searcher.compound_audience(CompoundQuery.parse(["enjoys baking^3"]), k=5) == plain


def test_like_users_finds_their_group_and_leaves_them_out(served):
    searcher, _ = served
    hits = searcher.compound_audience(CompoundQuery.parse(like_users=["camper-0", "camper-1"]), k=2)
    assert sorted(h.user_id for h in hits) == ["camper-2", "camper-3"]
    hits = searcher.compound_audience(CompoundQuery.parse(["enjoys hiking"], unlike_users=["both-0^3"]), k=N)
    assert "both-0" not in [h.user_id for h in hits] and group(hits) == ["hiker"] * N
    with pytest.raises(Exception, match="unknown user 'nobody'"):
        searcher.compound_audience(CompoundQuery.parse(like_users=["nobody"]), k=2)


def test_filters_combine_with_a_compound_audience(served):
    searcher, _ = served
    query = CompoundQuery.parse(["enjoys hiking"], ["enjoys camping^2"])
    de = searcher.compound_audience(query, k=10, user_filter=parse_filter(["country=DE"]))
    assert [h.user_id for h in de[:2]] == sorted(["hiker-0", "hiker-2"], key=[h.user_id for h in de].index)
    assert {h.user_id.split("-")[1] for h in de} <= {"0", "2"}
    since = searcher.compound_audience(query, k=2, user_filter=parse_filter(since="2024-03-01"))
    assert sorted(h.user_id for h in since) == ["hiker-2", "hiker-3"]  # users 2 and 3 posted from March on
    liked = CompoundQuery.parse(like_users=["baker-0"])
    assert searcher.compound_audience(liked, k=5, user_filter=parse_filter(["country=DE"]))[0].user_id == "baker-2"
    assert searcher.compound_audience(query, k=3, user_filter=parse_filter(["country=US"])) == []


@pytest.mark.parametrize("seed", range(6))
def test_the_widening_search_equals_an_exact_scan(served, seed):
    """Over-fetch and widen until no user beyond can enter the top k: the same as scoring everyone."""
    searcher, _ = served
    rng = np.random.default_rng(seed)
    texts = ["enjoys hiking", "enjoys camping", "enjoys baking", "mountain boots", "sleeping tent"]
    people = [u["user_id"] for u in users()]
    wanted = list(rng.choice(texts, 2, replace=False))
    picked = rng.choice(people, 3, replace=False)
    query = CompoundQuery.of([(t, float(rng.uniform(0.5, 3))) for t in wanted],
                             [(t, float(rng.uniform(0.5, 4))) for t in texts if t not in wanted][:int(rng.integers(1, 3))],
                             like_users=[str(picked[0])], unlike_users=[str(p) for p in picked[1:]])
    for k in (1, 3, 7):
        hits = searcher.compound_audience(query, k=k)
        ids, scores = compound_scores(searcher, query, limit=k)
        names = searcher.store.user_ids(ids.tolist())
        assert [h.user_id for h in hits] == [names[int(i)] for i in ids]
        assert np.allclose([h.score for h in hits], scores, atol=1e-5)
        named = {t.value for t in query.terms if t.kind == "user"}
        assert not named & {h.user_id for h in hits}


# ---- the command line -----------------------------------------------------------------

def cli(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_cli_compound_audience(served, tmp_path):
    _, home = served
    result = cli(home, "audience", "--statement", "enjoys hiking", "--not-statement", "enjoys camping^2",
                 "-k", str(N), "--json")
    assert result.exit_code == 0, result.output
    assert sorted(h["user_id"] for h in json.loads(result.output)) == [f"hiker-{i}" for i in range(N)]
    positional = cli(home, "audience", "enjoys hiking", "--not-statement", "enjoys camping^2", "-k", str(N), "--json")
    assert json.loads(positional.output) == json.loads(result.output)
    text = cli(home, "audience", "--like-user", "camper-0", "--where", "country=FR", "--since", "2024-02-01", "-k", "2")
    assert text.exit_code == 0, text.output
    assert "camper-1" in text.output and "camper-3" in text.output and "camper-0" not in text.output
    out = tmp_path / "hikers.csv"
    written = cli(home, "audience", "--statement", "enjoys hiking", "--not-statement", "enjoys camping^2",
                  "--out", str(out), "-k", str(N))
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(out.open()))
    assert [r["user_id"] for r in rows] == [h["user_id"] for h in json.loads(result.output)]


@pytest.mark.parametrize("args, says", [
    ((), "give a statement TEXT, or --statement / --like-user"),
    (("--statement", "enjoys hiking^two"), "'two' is not a number"),
    (("--not-statement", "enjoys camping"), "only exclusions given"),
    (("enjoys hiking", "--statement", "enjoys hiking"), "given twice"),
    (("enjoys hiking^2", "--not-statement", "x"), "TEXT is taken literally"),
    (("--statement", "a", "--not-statement", "a"), "both wanted"),
    (("--like-user", "nobody"), "unknown user 'nobody'"),
    (("--statement", "enjoys hiking", "--like-user", "hiker-0", "--where", "shoe=9"), "unknown filter key 'shoe'"),
])
def test_cli_refuses_with_a_message(served, args, says):
    _, home = served
    result = cli(home, "audience", *args)
    assert result.exit_code != 0
    assert says in result.output and "Traceback" not in result.output


# ---- HTTP ------------------------------------------------------------------------------

def test_http_compound_audience_answers_as_the_library_does(served, http):
    searcher, _ = served
    body = {"statements": [{"text": "enjoys hiking"}], "not_statements": [{"text": "enjoys camping", "weight": 2}],
            "k": N}
    got = http.post("/audience/compound", json=body)
    assert got.status_code == 200, got.text
    query = CompoundQuery.parse(["enjoys hiking"], ["enjoys camping^2"])
    assert got.json() == [{"user_id": h.user_id, "score": h.score} for h in searcher.compound_audience(query, N)]
    assert sorted(h["user_id"] for h in got.json()) == [f"hiker-{i}" for i in range(N)]
    liked = http.post("/audience/compound", json={"like_users": [{"text": "camper-0"}], "k": 2, "where": ["country=FR"],
                                                  "since": "2024-02-01", "explain": True}).json()
    assert sorted(h["user_id"] for h in liked) == ["camper-1", "camper-3"]
    assert all(h["explanation"]["top"] for h in liked)


@pytest.mark.parametrize("body, status, says", [
    ({"not_statements": [{"text": "enjoys camping"}]}, 422, "only exclusions given"),
    ({"statements": [{"text": "a"}, {"text": "a", "weight": 2}]}, 422, "given twice"),
    ({"statements": [{"text": "a"}], "not_statements": [{"text": "a"}]}, 422, "both wanted"),
    ({"statements": [{"text": "a", "weight": 0}]}, 422, "weight"),
    ({"statements": [{"text": "a", "weight": 101}]}, 422, "weight"),
    ({"statements": [{"text": ""}]}, 422, "text"),
    ({"like_users": [{"text": "nobody"}]}, 404, "unknown user 'nobody'"),
    ({"statements": [{"text": "a"}], "where": ["shoe=9"]}, 422, "unknown filter key 'shoe'"),
    ({"statements": [{"text": "a"}], "k": 0}, 422, "k"),
    ({}, 422, "give at least one --statement or --like-user"),
])
def test_http_refuses_with_json_errors(http, body, status, says):
    got = http.post("/audience/compound", json=body)
    assert got.status_code == status, got.text
    assert says in got.json()["error"] and got.json()["status"] == status


# ---- the quality benchmark's measurement --------------------------------------------

def test_benchmark_counts_a_and_not_b_by_the_known_truth():
    from benchmarks._compound import compound_metrics

    e = np.eye(4, dtype=np.float32)
    both = (0.9 * e[0] + 0.4 * e[1]) / np.hypot(0.9, 0.4)  # A and B: the highest A score
    only_a = 0.8 * e[0] + 0.6 * e[2]
    users_ = np.stack([both] * 5 + [only_a] * 5 + [e[1]] * 5 + [e[3]] * 5)
    truths = [["A", "B"]] * 5 + [["A"]] * 5 + [["B"]] * 5 + [[]] * 5
    m = compound_metrics(users_, e[:2], ["A", "B"], truths)
    # pairs (A, not B): relevant = the A-only users, ranked 6-10 by A alone; (B, not A): the B-only users, ranked 1-5
    assert m["compound/n_pairs"] == 2 and m["compound/n_pairs_overlap"] == 2
    assert m["compound/naive/precision@10"] == pytest.approx(0.5)
    assert m["compound/naive/recall@10"] == pytest.approx(1.0)
    assert m["compound/naive/leak@10"] == pytest.approx(0.5)
    assert m["compound/naive/ndcg@10"] < 1.0 and m["compound/compound/ndcg@10"] >= m["compound/naive/ndcg@10"]
    assert m["like_users/n_statements"] == 2  # A and B have >= 8 users each
    assert m["like_users/compound/ndcg@10"] == pytest.approx(1.0)


def test_benchmark_compaction_keeps_every_inner_product():
    from scipy import sparse

    from benchmarks._compound import compact

    rng = np.random.default_rng(1)
    users_ = sparse.random(6, 500, density=0.05, random_state=1, format="csr")
    statements = sparse.random(3, 500, density=0.05, random_state=2, format="csr")
    u, s = compact(users_, statements)
    assert u.shape == (6, 9) and s.shape == (3, 9)
    dense = np.vstack([users_.toarray(), statements.toarray()])
    assert np.allclose(np.vstack([u, s]) @ np.vstack([u, s]).T, dense @ dense.T, atol=1e-5)
    small = rng.standard_normal((4, 3)).astype(np.float32)
    assert compact(small, small[:2])[0] is not None and compact(small, small[:2])[0].shape == (4, 3)
