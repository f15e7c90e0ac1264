"""Multi-interest users (as Pinterest's PinnerSage, 2020): several vectors per user.

A user whose history spans unrelated interests (birds, lifting and anime) gets one vector
per interest beside their single whole-history vector: a single vector lands between the
interests and matches a statement about the smallest one poorly.

How a user's interests are found (``user_interests``):

1. the user's chunks (the most recent ``MAX_CLUSTER_CHUNKS`` of the history the model
   pools) go through the model's token encoder (the chunk-vector cache, like the single
   vector), and are clustered in that space (L2-normalised: the pretrained sentence space,
   where "near" means "about the same thing", shared by every model of a locked backbone);
2. Ward agglomerative clustering (``scipy``), cut at the k in 2..``max_interests`` with the
   best mean silhouette (cosine). The split is kept only when that silhouette reaches
   ``min_silhouette``; a user with fewer than ``MIN_CHUNKS`` chunks, or whose chunks do not
   separate, has one interest (= the whole history);
3. each cluster's vector is the model's pooling of that cluster's chunks (attention
   pooling, adapter, projection: exactly how a user made of those chunks is embedded), its
   weight the cluster's share of the chunks, its example (medoid) the chunk nearest the
   cluster's centre (an index into the history, oldest first).

Interests are sorted by weight (largest first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

MAX_INTERESTS = 5
MIN_CHUNKS = 4  # fewer chunks: one interest
MIN_SILHOUETTE = 0.10  # tuned on synthetic *train* users (README "Multi-interest users")
MAX_CLUSTER_CHUNKS = 1000  # Ward needs O(n²) memory: the most recent chunks only


@dataclass
class Interests:
    """One user's interests: ``vectors[m, d]`` (L2-normalised), ``weights[m]`` (sum 1),
    ``sizes[m]`` (chunks), ``medoids[m]`` (history position of each example chunk)."""

    vectors: np.ndarray
    weights: np.ndarray
    sizes: np.ndarray
    medoids: np.ndarray

    def __len__(self) -> int:
        return len(self.weights)


def cluster_labels(x: np.ndarray, max_interests: int = MAX_INTERESTS,
                   min_silhouette: float = MIN_SILHOUETTE) -> np.ndarray:
    """Cluster labels 0..m-1 for L2-normalised rows ``x`` (all 0: one interest)."""
    n = len(x)
    labels = np.zeros(n, dtype=np.int64)
    if n < MIN_CHUNKS or max_interests < 2:
        return labels
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    x = np.asarray(x, dtype=np.float64)
    if np.allclose(x, x[0]):
        return labels
    tree = linkage(x, method="ward")
    best, best_score = None, -1.0
    for k in range(2, min(max_interests, n - 1) + 1):
        cut = fcluster(tree, k, criterion="maxclust")
        if len(np.unique(cut)) < 2:
            continue
        score = float(silhouette_score(x, cut, metric="cosine"))
        if score > best_score:
            best, best_score = cut, score
    if best is None or best_score < min_silhouette:
        return labels
    _, dense = np.unique(best, return_inverse=True)
    return dense.astype(np.int64)


def _groups(labels: np.ndarray) -> list[np.ndarray]:
    """Row groups per cluster, largest first (ties: earliest first row)."""
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    return sorted(groups, key=lambda g: (-len(g), int(g[0])))


def user_interests(model, histories: Sequence[Sequence[str]], cache=None, *,
                   max_interests: int = MAX_INTERESTS, min_silhouette: float = MIN_SILHOUETTE) -> list[Interests]:
    """Each history's interests, through ``model``'s token encoder (``cache``: its chunk-vector
    cache) and pooling. ``model`` is a ``UniversalUserEmbeddingModel``."""
    import torch

    cap = int(getattr(model.config, "num_chunks_per_user", 0) or 0)
    out: list[Interests] = []
    for history in histories:
        texts = list(history[-cap:]) if cap else list(history)
        if not texts:
            raise ValueError("every user needs at least one chunk")
        offset = max(0, len(texts) - MAX_CLUSTER_CHUNKS)
        texts = texts[offset:]
        with torch.inference_mode():
            chunk = model.chunk_vectors(texts, cache=cache)
            unit = torch.nn.functional.normalize(chunk.float(), dim=-1).cpu().numpy()
            groups = _groups(cluster_labels(unit, max_interests, min_silhouette))
            vectors = model.pool_users(chunk, [g.tolist() for g in groups]).float().cpu().numpy()
        medoids = []
        for g in groups:
            centre = unit[g].mean(axis=0)
            medoids.append(int(g[int(np.argmax(unit[g] @ centre))]))
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        out.append(Interests(np.ascontiguousarray(vectors, dtype=np.float32), (sizes / sizes.sum()).astype(np.float32),
                             sizes, np.array(medoids, dtype=np.int64) + offset + _dropped(history, cap)))
    return out


def _dropped(history: Sequence[str], cap: int) -> int:
    """Chunks before the ones the model pools (``num_chunks_per_user``): medoids index the whole history."""
    return max(0, len(history) - cap) if cap else 0


def set_similarity(query: np.ndarray, weights: np.ndarray, candidate: np.ndarray) -> float:
    """How well a candidate's interests cover a user's: the weighted average, over the user's
    interests, of each one's best cosine with any of the candidate's (``similar --interests``)."""
    if not len(query) or not len(candidate):
        return float("-inf")
    best = (np.asarray(query, dtype=np.float32) @ np.asarray(candidate, dtype=np.float32).T).max(axis=1)
    return float(np.dot(weights, best) / max(float(np.sum(weights)), 1e-12))
