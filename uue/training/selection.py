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
import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from uue.evaluation.metrics import recall_at_k
from uue.evaluation.user_metrics import half_recall_at_1
from uue.model.chunk_cache import CachedEmbedder, ChunkVectorCache
from uue.model.open_vocabulary import OpenVocabulary

RECALL_K = 10
SELECTION_KEYS = (f"dev_recall@{RECALL_K}", "dev_statement_auc", "dev_half_recall@1")
DEV_SLICE = 10  # 1 in DEV_SLICE training users (by a hash of user_id) selects the model when there are no dev users
# dev users that select the model: more are a uniform sample of this many (by a hash of user_id), so the
# memory and time of model selection stay flat however many users the store holds
MAX_DEV_USERS = 10_000


def _user_hash(user_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(user_id.encode("utf-8"), digest_size=8).digest(), "big")


def in_dev_slice(user_id: str) -> bool:
    return _user_hash(user_id) % DEV_SLICE == 0


def dev_key(user_id: str) -> int:
    """The key ``dev_sample`` ranks users by (63 bits: fits an int64)."""
    return _user_hash(user_id) >> 1


def dev_sample(keys: np.ndarray, cap: int | None = None) -> np.ndarray:
    """Positions (ascending) of the ``cap`` (default ``MAX_DEV_USERS``) users with the smallest
    ``dev_key`` (all when there are at most ``cap``; ties by position): a uniform,
    deterministic sample of the dev users."""
    cap = MAX_DEV_USERS if cap is None else cap
    if len(keys) <= cap:
        return np.arange(len(keys))
    return np.sort(np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")[:cap])


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
        # as served: dev statements the model did not train on are scored open-vocabulary
        statement_vectors = OpenVocabulary.from_model(model).apply(list(dev_pool), statement_vectors)
        scores = users @ statement_vectors.T
        out[f"dev_recall@{RECALL_K}"] = recall_at_k(scores[labelled], [positives[i] for i in labelled], RECALL_K)
        auc = statement_auc(scores, positives)
        if auc is not None:
            out["dev_statement_auc"] = auc
    half, _ = half_recall_at_1(CachedEmbedder(model, cache) if cache is not None else model, histories)
    if not math.isnan(half):
        out["dev_half_recall@1"] = half
    present = [out[k] for k in SELECTION_KEYS if k in out]
    if present:
        out["dev_selection"] = float(np.mean(present))
    return out
