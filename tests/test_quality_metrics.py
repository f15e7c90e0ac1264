"""The quality metrics (profile, zero-shot audience, similar users) and BM25, against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from uue.data.schema import UserChunk, UserData
from uue.evaluation import metrics as M
from uue.evaluation import user_metrics as UM
from uue.evaluation.baselines import BM25Scorer, Embedder
from uue.evaluation.report import evaluate_embedder

L3 = math.log2(3)


class TableEmbedder:
    """Vectors from a lookup table: a statement is its own row, a user the mean of its chunks' rows."""

    def __init__(self, table: dict[str, tuple[float, ...]], as_sparse: bool = False) -> None:
        self.table = {k: np.asarray(v, dtype=np.float64) for k, v in table.items()}
        self.as_sparse = as_sparse

    def _out(self, rows: list[np.ndarray]):
        arr = np.stack(rows).astype(np.float32)
        return sparse.csr_matrix(arr) if self.as_sparse else arr

    def encode_users(self, histories: list[list[str]], batch_size: int = 8, show_progress: bool = False):
        return self._out([np.mean([self.table[t] for t in h], axis=0) for h in histories])

    def encode_statements(self, texts: list[str], batch_size: int = 8, show_progress: bool = False):
        return self._out([self.table[t] for t in texts])


def test_calibrate_per_statement_z_scores_columns_and_centres_constant_ones() -> None:
    # column 0: mean 2, std 1 -> -1, 1 ; column 1: constant -> centred to 0 ; column 2: mean 0, std 2
    z = M.calibrate_per_statement(np.array([[1.0, 2.0, -2.0], [3.0, 2.0, 2.0]]))
    np.testing.assert_allclose(z, [[-1.0, 0.0, -1.0], [1.0, 0.0, 1.0]])
    assert M.calibrate_per_statement(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError):
        M.calibrate_per_statement(np.zeros(3))


def test_per_user_roc_auc_by_hand() -> None:
    scores = np.array([[0.9, 0.1, 0.5, 0.3],
                       [0.2, 0.4, 0.6, 0.8],
                       [0.7, 0.7, 0.0, 0.0]])
    # u0: positives .9, .3 vs negatives .1, .5 -> pairs 1 + 1 + 1 + 0 = 3/4
    # u1: no negative -> not counted ; u2: positive .7 ties negative .7 -> 1/2
    auc, n = UM.per_user_roc_auc(scores, [{0, 3}, {2}, {1}], [{1, 2}, set(), {0}])
    assert n == 2
    assert auc == pytest.approx((0.75 + 0.5) / 2)
    assert UM.per_user_roc_auc(scores, [set()] * 3, [{0}] * 3) == (pytest.approx(math.nan, nan_ok=True), 0)
    # a column in both sets counts as true only: u0 has then no negative left
    assert UM.per_user_roc_auc(scores[:1], [{0}], [{0}])[1] == 0


def test_profile_metrics_calibration_removes_a_statements_pull() -> None:
    # statement 0 scores high for everybody. u0: true 0, false 1 ; u1: true 1, false 0.
    scores = np.array([[0.9, 0.2],
                       [0.8, 0.6]])
    m = UM.profile_metrics(scores, [{0}, {1}], [{1}, {0}], k=1)
    # raw: u0 .9 > .2 -> 1 ; u1 .6 < .8 -> 0
    assert m["profile/roc_auc_per_user"] == pytest.approx(0.5)
    assert m["profile/n_users"] == 2
    # calibrated: column 0 -> (+1, -1), column 1 -> (-1, +1): both users rank their true statement first
    assert m["profile/roc_auc_per_user_calibrated"] == pytest.approx(1.0)
    # centred: column 0 -> (+.05, -.05), column 1 -> (-.2, +.2): both users rank their true statement first
    assert m["profile/roc_auc_per_user_centred"] == pytest.approx(1.0)
    # precision@1: raw tops are statement 0 for both (u0 hit, u1 miss); calibrated: both hit
    assert m["profile/precision@1"] == pytest.approx(0.5)
    assert m["profile/precision@1_calibrated"] == pytest.approx(1.0)
    # columns beyond n_candidates are scored for the AUC but never ranked for precision
    m2 = UM.profile_metrics(scores, [{0}, {1}], [{1}, {0}], n_candidates=1, k=1)
    assert m2["profile/precision@1"] == pytest.approx(1.0)  # only u0 has a rankable positive
    assert m2["profile/roc_auc_per_user"] == pytest.approx(0.5)


def test_audience_ndcg_by_hand() -> None:
    scores = np.array([[0.9, 0.0, 0.3],
                       [0.5, 0.0, 0.2],
                       [0.1, 0.0, 0.9]])
    # statement 0 -> users ranked 0, 1, 2; audience {1} at rank 2 -> 1/log2(3)
    # statement 1 has no audience: left out ; statement 2 -> 2, 0, 1; audience {0, 2} at ranks 2, 1 -> 1
    ndcg, n = UM.audience_ndcg(scores, [{1}, set(), {0, 2}], k=10)
    assert n == 2
    assert ndcg == pytest.approx((1 / L3 + 1.0) / 2)
    # k = 1: statement 0 misses, statement 2 hits its best-ranked user -> DCG 1 / IDCG 1
    assert UM.audience_ndcg(scores, [{1}, set(), {0, 2}], k=1)[0] == pytest.approx(0.5)
    assert UM.audience_ndcg(scores, [set(), set(), set()])[1] == 0
    with pytest.raises(ValueError):
        UM.audience_ndcg(scores, [{0}])


def test_split_halves_even_and_odd_positions() -> None:
    halves, owners = UM.split_halves([["a", "b", "c"], ["x"], ["p", "q"]])
    assert halves == [["a", "c"], ["b"], ["p"], ["q"]]
    assert owners == [0, 2]


# Half vectors: A (1,0) twice; B (0,1) twice; C's halves (.9,.1) and (0,.5).
# A_even: A_odd 1, C_even .9 -> hit ; B_even: B_odd 1, C_odd .5 -> hit (same for the odd halves)
# C_even: A halves .9 (A_even first by index), C_odd .05 -> miss ; C_odd: B halves .5, C_even .05 -> miss
HALF_TABLE = {"a1": (1.0, 0.0), "a2": (1.0, 0.0), "b1": (0.0, 1.0), "b2": (0.0, 1.0),
              "c1": (0.9, 0.1), "c2": (0.0, 0.5), "d": (1.0, 1.0)}
HALF_HISTORIES = [["a1", "a2"], ["b1", "b2"], ["c1", "c2"], ["d"]]  # d: one chunk, not split


@pytest.mark.parametrize("as_sparse", [False, True])
def test_half_recall_at_1_by_hand(as_sparse: bool) -> None:
    emb = TableEmbedder(HALF_TABLE, as_sparse=as_sparse)
    recall, n = UM.half_recall_at_1(emb, HALF_HISTORIES)
    assert n == 3
    assert recall == pytest.approx(4 / 6)
    assert UM.half_recall_at_1(emb, HALF_HISTORIES, block_size=1) == (pytest.approx(4 / 6), 3)  # blocks agree
    recall, n = UM.half_recall_at_1(emb, [["a1", "a2"], ["d"]])  # one user to split: no other halves
    assert n == 1 and math.isnan(recall)


def test_bm25_scores_by_hand() -> None:
    # documents: u0 "cats cats dogs" (3 terms), u1 "dogs" (1 term): N = 2, avgdl = 2
    bm25 = BM25Scorer().fit_texts([["cats cats", "dogs"], ["dogs"]])
    assert isinstance(bm25, Embedder)
    idf_cats = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))  # = log 2
    idf_dogs = math.log(1 + (2 - 2 + 0.5) / (2 + 0.5))  # = log 1.2
    norm0 = 1.2 * (1 - 0.75 + 0.75 * 3 / 2)  # 1.65
    norm1 = 1.2 * (1 - 0.75 + 0.75 * 1 / 2)  # 0.75
    w0_cats = idf_cats * 2 * 2.2 / (2 + norm0)
    w0_dogs = idf_dogs * 1 * 2.2 / (1 + norm0)
    w1_dogs = idf_dogs * 1 * 2.2 / (1 + norm1)
    # queries are binary: "cats cats" counts cats once; "likes" / "birds" are in no document -> 0
    statements = ["likes cats", "Dogs and cats cats", "likes birds"]
    scores = (bm25.encode_users([["cats cats", "dogs"], ["dogs"]]) @ bm25.encode_statements(statements).T).toarray()
    np.testing.assert_allclose(scores, [[w0_cats, w0_cats + w0_dogs, 0.0],
                                        [0.0, w1_dogs, 0.0]], rtol=1e-6)
    with pytest.raises(RuntimeError):
        BM25Scorer().encode_statements(["x"])
    with pytest.raises(ValueError):
        BM25Scorer().fit_texts([])


def _user(uid: str, chunks: list[str], statements: list[str], negatives: list[str]) -> UserData:
    return UserData(uid, [UserChunk(t) for t in chunks], statements, negatives)


def test_evaluate_embedder_reports_the_new_groups_by_hand() -> None:
    # user vectors u0 (1,0), u1 (0,1), u2 (.6,.6); statements A (1,0), B (0,1), held-out C (.5,.3)
    # scores:   A    B    C
    #     u0    1    0   .5
    #     u1    0    1   .3
    #     u2   .6   .6  .48
    emb = TableEmbedder({"a": (1.0, 0.0), "b": (0.0, 1.0), "c": (0.6, 0.6),
                         "likes A": (1.0, 0.0), "likes B": (0.0, 1.0), "held C": (0.5, 0.3)})
    users = [_user("u0", ["a", "a"], ["likes A"], ["likes B"]),
             _user("u1", ["b", "b"], ["likes B", "held C"], ["likes A"]),
             _user("u2", ["c", "c"], ["held C"], ["likes A"])]
    m = evaluate_embedder(emb, users, ["likes A", "likes B"], {"held C"}, traits=False)
    # profile, raw: u0 1 > 0 ; u1 1, .3 > 0 ; u2 .48 < .6 -> (1 + 1 + 0) / 3
    assert m["profile/n_users"] == 3
    assert m["profile/roc_auc_per_user"] == pytest.approx(2 / 3)
    # calibrated (z per column): A (1.14, -1.30, .16), B (-1.30, 1.14, .16), C (.82, -1.41, .59)
    # u0 1.14 > -1.30 ; u1 B 1.14 > -1.30 but C -1.41 < -1.30 -> 1/2 ; u2 .59 > .16 -> (1 + .5 + 1) / 3
    assert m["profile/roc_auc_per_user_calibrated"] == pytest.approx(5 / 6)
    # 3 candidates (C is added to the pool as a true statement), all in the top 5: hits 1, 2, 1 over 5
    assert m["profile/precision@5"] == pytest.approx(4 / 15)
    assert m["profile/precision@5_calibrated"] == pytest.approx(4 / 15)
    # zero-shot audience of C: users ranked u0 .5, u2 .48, u1 .3; true of u1, u2 at ranks 3, 2
    assert m["zero_shot/audience_n_statements"] == 1
    assert m["zero_shot/audience_ndcg@10"] == pytest.approx((1 / L3 + 1 / 2) / (1 + 1 / L3))
    # halves: a·a 1 > a·c .6 ; b·b 1 > b·c .6 ; c·c .72 > c·a .6 -> all hits
    assert m["similar/n_users"] == 3
    assert m["similar/half_recall@1"] == pytest.approx(1.0)
