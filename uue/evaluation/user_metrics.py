"""Per-user metric groups of the evaluation: profile, zero-shot audience, similar users.

Free functions on score matrices ``scores[n_users, n_statements]`` (higher = better)
plus one on an ``Embedder`` (``half_recall_at_1``, which embeds half histories).

- ``profile_metrics``: does a user's own ranking put their true statements above their
  known-false ones? ROC-AUC per user and precision@k, raw and after
  ``calibrate_per_statement`` (each statement standardised over the users).
- ``audience_ndcg``: statement → users, nDCG@k against the users it is true of.
- ``half_recall_at_1``: split each history into two disjoint halves; is a half's
  nearest other half the same user's other half?
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from uue.evaluation import metrics as M

logger = logging.getLogger(__name__)

SIMILARITY_BLOCK = 2**21  # half_recall_at_1: entries of one block of the similarity matrix (16 MiB in float64)

__all__ = ["per_user_roc_auc", "profile_metrics", "audience_ndcg", "split_halves", "half_recall_at_1"]


def per_user_roc_auc(scores: np.ndarray, positives: Sequence[Collection[int]],
                     negatives: Sequence[Collection[int]]) -> tuple[float, int]:
    """Mean over users of the ROC-AUC of their true (``positives``) vs known-false (``negatives``) columns.

    Only users with at least one of each count (ties count half); a column in both sets
    counts as true. Returns ``(mean AUC, number of users counted)``, ``(nan, 0)`` when none.
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2 or not (arr.shape[0] == len(positives) == len(negatives)):
        raise ValueError(f"scores {arr.shape} need one positive and one negative set per row; "
                         f"got {len(positives)} and {len(negatives)}")
    aucs: list[float] = []
    for i, (pos, neg) in enumerate(zip(positives, negatives)):
        p = sorted({int(j) for j in pos})
        n = sorted({int(j) for j in neg} - set(p))
        if not p or not n:
            continue
        sp, sn = arr[i, p], arr[i, n]
        # Mann-Whitney: P(positive > negative) + 0.5 P(tie), over all pairs
        greater = (sp[:, None] > sn[None, :]).sum()
        ties = (sp[:, None] == sn[None, :]).sum()
        aucs.append(float((greater + 0.5 * ties) / (len(p) * len(n))))
    return (float(np.mean(aucs)) if aucs else math.nan), len(aucs)


def profile_metrics(scores: np.ndarray, positives: Sequence[Collection[int]], negatives: Sequence[Collection[int]],
                    n_candidates: int | None = None, k: int = 5, prefix: str = "profile/") -> dict[str, float]:
    """Profile quality of one score matrix, raw and calibrated per statement.

    - ``roc_auc_per_user`` / ``roc_auc_per_user_calibrated``: ``per_user_roc_auc`` on the
      raw scores and on ``calibrate_per_statement(scores)``; ``n_users``: users counted;
      ``roc_auc_per_user_centred``: each statement's mean over users subtracted, not divided
      by its standard deviation.
    - ``precision@k`` / ``precision@k_calibrated``: the user's top k of the first
      ``n_candidates`` columns (the candidate pool; default all) against their true
      statements, averaged over users with at least one (denominator k).
    """
    raw = np.asarray(scores, dtype=np.float64)
    calibrated = M.calibrate_per_statement(raw)
    n_cand = raw.shape[1] if n_candidates is None else n_candidates
    ranked_pos = [{j for j in p if j < n_cand} for p in positives]
    out: dict[str, float] = {}
    auc, n_users = per_user_roc_auc(raw, positives, negatives)
    out[f"{prefix}n_users"] = float(n_users)
    out[f"{prefix}roc_auc_per_user"] = auc
    out[f"{prefix}roc_auc_per_user_calibrated"] = per_user_roc_auc(calibrated, positives, negatives)[0]
    centred = raw - raw.mean(axis=0, keepdims=True) if raw.shape[0] else raw
    out[f"{prefix}roc_auc_per_user_centred"] = per_user_roc_auc(centred, positives, negatives)[0]
    if n_cand > 0 and raw.shape[0] > 0:
        out[f"{prefix}precision@{k}"] = M.precision_at_k(raw[:, :n_cand], ranked_pos, k)
        out[f"{prefix}precision@{k}_calibrated"] = M.precision_at_k(calibrated[:, :n_cand], ranked_pos, k)
    return out


def audience_ndcg(scores: np.ndarray, audiences: Sequence[Collection[int]], k: int = 10) -> tuple[float, int]:
    """nDCG@k of ranking all users (rows) for each statement (column) against its ``audiences``.

    Statements with an empty audience are left out. Returns ``(mean nDCG@k, number of
    statements counted)``, ``(nan, 0)`` when none has an audience.
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(audiences):
        raise ValueError(f"scores {arr.shape}: need one audience per column, got {len(audiences)}")
    n = sum(1 for a in audiences if a)
    if n == 0:
        return math.nan, 0
    return M.ndcg_at_k(arr.T, audiences, k), n


def split_halves(histories: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[int]]:
    """Two disjoint half histories per user with >= 2 chunks: even positions, then odd positions.

    Returns ``(halves, owners)``: halves ``2m`` and ``2m + 1`` belong to user
    ``owners[m]`` (its index in ``histories``).
    """
    halves: list[list[str]] = []
    owners: list[int] = []
    for i, h in enumerate(histories):
        if len(h) >= 2:
            halves += [list(h[0::2]), list(h[1::2])]
            owners.append(i)
    return halves, owners


def _dense(x: Any) -> np.ndarray:
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)


def half_recall_at_1(embedder: Any, histories: Sequence[Sequence[str]], block_size: int | None = None,
                     show_progress: bool = False) -> tuple[float, int]:
    """Fraction of half histories whose nearest other half (inner product) is their own user's other half.

    Each user with >= 2 chunks is split by ``split_halves``; every half is embedded with
    ``embedder.encode_users`` as a user of its own. Ties go to the lower index (half
    ``2m`` before ``2m + 1``). Returns ``(recall@1, users split)``; ``(nan, n)`` when
    fewer than 2 users can be split.
    """
    halves, owners = split_halves(histories)
    n_users = len(owners)
    if n_users < 2:
        return math.nan, n_users
    H = embedder.encode_users(halves, show_progress=show_progress)
    if hasattr(H, "tocsr"):
        H = H.tocsr()
    else:
        H = np.asarray(H, dtype=np.float64)
    n = len(halves)
    if block_size is None:  # rows of similarities at once: about SIMILARITY_BLOCK entries, whatever n
        block_size = max(1, min(1024, SIMILARITY_BLOCK // n))
    partner = np.arange(n) ^ 1
    hits = np.empty(n, dtype=bool)
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sims = _dense(H[start:stop] @ H.T)
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # never oneself
        hits[start:stop] = M.top_k(sims, 1)[:, 0] == partner[start:stop]
    return float(hits.mean()), n_users
