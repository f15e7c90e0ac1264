"""The evaluation suite on a fake embedder whose answers are known, the TF-IDF baseline, the report files."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from uue.data.schema import UserChunk, UserData
from uue.evaluation import metrics as M
from uue.evaluation.baselines import Embedder, TfidfScorer, score_matrix
from uue.evaluation.report import (
    choose_attribute,
    create_evaluation_report,
    evaluate_embedder,
    render_markdown,
    unseen_statements,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WORDS = ("cats", "dogs", "birds")


class KeywordEmbedder:
    """One dimension per keyword: a text's vector counts the keywords in it, L2-normalised."""

    def __init__(self, words: tuple[str, ...] = WORDS, noise: float = 0.0, seed: int = 0) -> None:
        self.words = words
        self.noise = noise
        self.rng = np.random.default_rng(seed)

    def _vec(self, text: str) -> np.ndarray:
        v = np.array([text.split().count(w) for w in self.words], dtype=np.float64)
        v = v + self.noise * self.rng.normal(size=v.size)
        n = np.linalg.norm(v)
        return (v / n if n > 0 else v).astype(np.float32)

    def encode_users(self, histories: list[list[str]], batch_size: int = 8, show_progress: bool = False) -> np.ndarray:
        return np.stack([self._vec(" ".join(h)) for h in histories])

    def encode_statements(self, texts: list[str], batch_size: int = 8, show_progress: bool = False) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])


def user(uid: str, history: list[str], statements: list[str], negatives: list[str] = (), **metadata: str
         ) -> UserData:
    return UserData(uid, [UserChunk(t) for t in history], list(statements), list(negatives), metadata=dict(metadata))


def tiny_users() -> list[UserData]:
    # user vectors: u0 (1,0,0); u1 (0,1,0); u2 (1,0,1)/√2
    return [
        user("u0", ["cats are great"], ["likes cats"], ["likes birds"], pet="cat"),
        user("u1", ["dogs rule"], ["likes dogs"], ["likes fish"], pet="dog"),
        user("u2", ["cats and birds"], ["likes birds"], pet="cat"),
    ]


POOL = ["likes cats", "likes dogs", "likes birds"]  # statement vectors: e0, e1, e2
HELD = {"likes birds", "likes fish"}


def test_fake_embedder_fits_protocol() -> None:
    assert isinstance(KeywordEmbedder(), Embedder)
    assert isinstance(TfidfScorer(), Embedder)


def test_evaluate_embedder_tiny_case_by_hand() -> None:
    m = evaluate_embedder(KeywordEmbedder(), tiny_users(), POOL, HELD, attribute="pet", traits=False)
    # retrieval: u0 ranks cats first, u1 dogs first; u2 scores cats .707, dogs 0, birds .707 -> the
    # tie goes to the lower index, so cats, birds: hit at rank 2.
    assert m["retrieval/recall@1"] == pytest.approx(2 / 3)
    assert m["retrieval/recall@5"] == pytest.approx(1.0)
    assert m["retrieval/mrr@10"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert m["retrieval/precision@1"] == pytest.approx(2 / 3)
    assert m["retrieval/precision@5"] == pytest.approx(1 / 5)  # one hit each, denominator 5
    assert m["retrieval/ndcg@10"] == pytest.approx((1 + 1 + 1 / math.log2(3)) / 3)
    assert m["retrieval/map@100"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert m["retrieval/n_queries"] == 3
    # zero-shot (held out: birds, fish): positive (u2, birds) .707; negatives (u0, birds) 0 and
    # (u1, fish) 0 -- "fish" is not in the pool and is scored anyway -> perfectly separated
    assert m["zero_shot/n_pairs"] == 3 and m["zero_shot/n_positive"] == 1
    assert m["zero_shot/roc_auc"] == pytest.approx(1.0)
    assert m["zero_shot/average_precision"] == pytest.approx(1.0)
    # per statement: birds has a positive and a negative user (AUC 1); fish only a negative
    assert m["zero_shot/n_statements_ranked"] == 1
    assert m["zero_shot/roc_auc_per_statement"] == pytest.approx(1.0)
    # audience: cats -> u0 (1) above u2 (.707); dogs -> u1; birds -> u2 (.707) above u0, u1 (0)
    assert m["audience/recall@10"] == pytest.approx(1.0)
    assert m["audience/ndcg@10"] == pytest.approx(1.0)
    assert m["audience/n_queries"] == 3
    # similarity on pet (cat, dog, cat), k clipped to 2 = everyone else: u0 -> {u2 cat, u1 dog} 1/2;
    # u1 -> {u0, u2} both cat, 0; u2 -> {u0 cat, u1 dog} 1/2 -> mean 1/3
    assert m["similarity/neighbour_agreement@10"] == pytest.approx(1 / 3)
    assert m["similarity/neighbour_agreement_chance@10"] == pytest.approx(1 / 3)  # 2·1 / (3·2)
    assert not any(k.startswith("traits/") for k in m)


def test_pool_without_user_statement_still_ranks_it() -> None:
    # "likes birds" missing from the pool: it is added as a candidate, not silently a miss
    m = evaluate_embedder(KeywordEmbedder(), tiny_users(), POOL[:2], set(), traits=False)
    assert m["retrieval/recall@5"] == pytest.approx(1.0)
    assert m["zero_shot/n_pairs"] == 0 and "zero_shot/roc_auc" not in m


def many_users(n: int = 24) -> list[UserData]:
    rng = np.random.default_rng(1)
    users = []
    for i in range(n):
        word = WORDS[i % 3]
        u = user(f"u{i}", [f"{word} today", f"more {word}"], [f"likes {word}"], pet=word)
        u.traits = {"score": float(i % 3) + 0.1 * rng.normal(), "sparse": 1.0} if i % 4 else {"score": float(i % 3)}
        users.append(u)
    return users


def test_traits_match_trait_regression() -> None:
    users = many_users()
    emb = KeywordEmbedder(noise=0.0)
    m = evaluate_embedder(emb, users, POOL, set(), attribute="pet")
    U = emb.encode_users([u.texts for u in users])
    expected = M.trait_regression(U, {"score": np.array([u.traits["score"] for u in users])})
    assert m["traits/score/r2"] == pytest.approx(expected["score/r2"])
    assert m["traits/score/r2"] > 0.9  # the keyword one-hots determine the trait up to noise
    # "sparse" is constant where known -> R² undefined (nan), 18 known values
    assert m["traits/sparse/n"] == 18 and math.isnan(m["traits/sparse/r2"])
    # 8 users per pet, identical vectors: the 7 others of the same pet rank first, then 3 of another -> 7/10
    assert m["similarity/neighbour_agreement@10"] == pytest.approx(0.7)
    assert m["similarity/silhouette"] == pytest.approx(1.0)  # cosine distance 0 within, 1 across


def test_tfidf_ranks_user_sharing_words_above_one_that_does_not() -> None:
    users = [user("a", ["we went hiking in the mountains", "trail running"], ["enjoys hiking"]),
             user("b", ["baking sourdough bread", "my oven"], ["bakes bread"])]
    statements = ["enjoys hiking in the mountains", "bakes bread at home"]
    tfidf = TfidfScorer().fit(users, statements)
    scores = tfidf.score(users, statements)
    assert scores.shape == (2, 2)
    assert scores[0, 0] > scores[1, 0] and scores[1, 1] > scores[0, 1]
    assert scores[0, 1] == pytest.approx(0.0)
    np.testing.assert_allclose(score_matrix(tfidf, [u.texts for u in users], statements), scores, rtol=1e-6)
    with pytest.raises(RuntimeError):
        TfidfScorer().score(users, statements)


def test_held_out_and_attribute_helpers() -> None:
    train = [user("t", ["x"], ["likes cats"])]
    assert unseen_statements(train, tiny_users()) == {"likes dogs", "likes birds", "likes fish"}
    assert choose_attribute(tiny_users()) == "pet"  # 2 distinct values: allowed (at least 2 always are)
    users = many_users()
    for i, u in enumerate(users):
        u.metadata["handle"] = f"h{i}"  # unique per user: useless for grouping
        u.metadata["country"] = "DE"  # one value: useless too
    assert choose_attribute(users) == "pet"
    assert choose_attribute([user("x", ["a"], [], handle="h1"), user("y", ["b"], [], handle="h2"),
                             user("z", ["c"], [], handle="h3")]) is None


def test_create_evaluation_report_writes_files(tmp_path) -> None:
    users = many_users(30)
    evaluator = SimpleNamespace(model=KeywordEmbedder())
    curves = {"step": [0, 10, 20], "loss": [2.0, 1.2, 0.9], "dev_recall@10": [0.1, 0.4, 0.6]}
    out = tmp_path / "report"
    results = create_evaluation_report(evaluator, users, POOL, out, held_out={"likes birds"},
                                       base_embedder=KeywordEmbedder(noise=0.5, seed=3), training_curves=curves)
    assert list(results) == ["model", "base", "tfidf", "bm25"]
    assert results["model"]["retrieval/recall@1"] == pytest.approx(1.0)
    assert results["model"]["retrieval/recall@1"] >= results["base"]["retrieval/recall@1"]
    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved) == {"model", "base", "tfidf", "bm25"}
    assert saved["model"]["retrieval/recall@1"] == pytest.approx(1.0)
    report = (out / "report.md").read_text()
    assert "| metric | model | base | tfidf | bm25 |" in report
    assert "| recall@1 | **1.0000** |" in report
    assert "recall_curves.png" in report and "user_map.png" in report and "training_curves.png" in report
    for name in ("recall_curves.png", "user_map.png", "training_curves.png"):
        data = (out / name).read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_report_without_output_and_unknown_baseline() -> None:
    results = create_evaluation_report(KeywordEmbedder(), tiny_users(), POOL, baselines=("tfidf",), held_out=HELD)
    assert list(results) == ["model", "tfidf"]
    with pytest.raises(ValueError):
        create_evaluation_report(KeywordEmbedder(), tiny_users(), POOL, baselines=("nope",))


def test_markdown_bolds_best_but_not_counts() -> None:
    page = render_markdown({"model": {"retrieval/recall@1": 0.5, "retrieval/n_queries": 3.0},
                            "tfidf": {"retrieval/recall@1": 0.7, "retrieval/n_queries": 3.0}}, {"n_users": 3})
    assert "| recall@1 | 0.5000 | **0.7000** |" in page
    assert "| n_queries | 3 | 3 |" in page


def test_markdown_no_bold_when_all_tie() -> None:
    page = render_markdown({"model": {"audience/recall@10": 1.0}, "base": {"audience/recall@10": 1.0}}, {})
    assert "| recall@10 | 1.0000 | 1.0000 |" in page


def test_lazy_base_uses_model_config_and_failure_is_skipped(monkeypatch) -> None:
    import uue.evaluation.report as R

    seen: dict[str, object] = {}

    def fake_build(name, **fields):
        seen.update(name=name, **fields)
        return KeywordEmbedder(noise=0.3)

    model = KeywordEmbedder()
    model.config = SimpleNamespace(base_model_name="some/backbone", pooling="last", max_chunk_length=64)
    monkeypatch.setattr(R, "build_base_embedder", fake_build)
    results = create_evaluation_report(SimpleNamespace(model=model), tiny_users(), POOL, traits=False)
    assert list(results) == ["model", "base", "tfidf", "bm25"]
    assert seen == {"name": "some/backbone", "pooling": "last", "max_chunk_length": 64}

    def failing_build(name, **fields):
        raise OSError("no weights here")

    monkeypatch.setattr(R, "build_base_embedder", failing_build)
    assert list(create_evaluation_report(model, tiny_users(), POOL, traits=False)) == ["model", "tfidf", "bm25"]
