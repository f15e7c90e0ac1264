"""Model selection on dev users: the metrics that say whether training generalises.

``dev_metrics`` scores a model on users it never trained on, on the three questions UUE
answers — seen-statement retrieval (``dev_recall@10``), "which users does a statement
describe" (``dev_statement_auc``: each dev statement ranks the dev users) and "which
users resemble this one" (``dev_half_recall@1``: a user's two halves of history find
each other) — and ``dev_selection``, their mean, which picks the epoch. The trainer scores
the untrained starting point the same way (epoch 0), so it can tell when training made
things worse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from uue.evaluation.metrics import recall_at_k
from uue.model.chunk_cache import ChunkVectorCache

RECALL_K = 10
SELECTION_KEYS = (f"dev_recall@{RECALL_K}", "dev_statement_auc", "dev_half_recall@1")
DEV_SLICE = 10  # 1 in DEV_SLICE training users (by a hash of user_id) selects the model when there are no dev users


def in_dev_slice(user_id: str) -> bool:
    return int.from_bytes(hashlib.blake2b(user_id.encode("utf-8"), digest_size=8).digest(), "big") % DEV_SLICE == 0


def half_recall_at_1(model, histories: Sequence[Sequence[str]], cache: ChunkVectorCache | None) -> float | None:
    """Each user's history split in two (even / odd positions): how often a half's nearest
    other half is the same user's. None with fewer than two users of >= 2 chunks."""
    pairs = [h for h in histories if len(h) >= 2]
    if len(pairs) < 2:
        return None
    halves = [list(h[0::2]) for h in pairs] + [list(h[1::2]) for h in pairs]
    vectors = model.encode_users(halves, cache=cache)
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    n = len(pairs)
    partner = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    return float(np.mean(scores.argmax(1) == partner))


def statement_auc(scores: np.ndarray, positives: Sequence[set[int]]) -> float | None:
    """Mean over statements (columns) of the ROC-AUC of dev users it is true of vs the rest
    (Mann-Whitney U from average ranks, all columns at once)."""
    labels = np.zeros(scores.shape, dtype=bool)
    for i, p in enumerate(positives):
        labels[i, list(p)] = True
    n_pos = labels.sum(0)
    n_neg = len(labels) - n_pos
    usable = (n_pos > 0) & (n_neg > 0)
    if not usable.any():
        return None
    ranks = np.apply_along_axis(rankdata, 0, scores[:, usable])
    pos = labels[:, usable]
    u = (ranks * pos).sum(0) - n_pos[usable] * (n_pos[usable] + 1) / 2
    return float(np.mean(u / (n_pos[usable] * n_neg[usable])))


def dev_metrics(model, histories: Sequence[Sequence[str]], positives: Sequence[set[int]], dev_pool: Sequence[str],
                cache: ChunkVectorCache | None = None, statement_vectors: np.ndarray | None = None
                ) -> dict[str, float]:
    """The dev metrics of ``model`` (see the module docstring); {} without dev users.

    ``statement_vectors``: the dev pool's vectors when they cannot change (a locked
    statement tower), so each epoch's evaluation only re-pools users."""
    if not histories:
        return {}
    out: dict[str, float] = {}
    labelled = [i for i, p in enumerate(positives) if p]
    users = model.encode_users([list(h) for h in histories], cache=cache)
    if labelled and dev_pool:
        if statement_vectors is None:
            statement_vectors = model.encode_statements(list(dev_pool))
        scores = users @ statement_vectors.T
        out[f"dev_recall@{RECALL_K}"] = recall_at_k(scores[labelled], [positives[i] for i in labelled], RECALL_K)
        auc = statement_auc(scores, positives)
        if auc is not None:
            out["dev_statement_auc"] = auc
    half = half_recall_at_1(model, histories, cache)
    if half is not None:
        out["dev_half_recall@1"] = half
    present = [out[k] for k in SELECTION_KEYS if k in out]
    if present:
        out["dev_selection"] = float(np.mean(present))
    return out
