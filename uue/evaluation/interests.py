"""Single vs multi-interest user vectors on users whose true interests are known (synthetic data).

A user's *minor* interest is the true topic with the smallest share of their chunks (users
with at least two topics; chatter chunks are no topic). Its statements are that topic's
statements that none of the user's other topics has. Metrics, with single = one vector per
user and multi = the user's best-matching interest (``uue.search.interests``):

- ``minor/audience_ndcg@10``, ``minor/audience_recall@10``: each statement about some user's
  minor interest ranks all users; relevant = every user the statement is true of (nDCG@10 and
  recall@10, averaged over those statements);
- ``minor/user_recall@R``: per such statement, the share of the users whose *minor* interest it
  is that rank within the top R (R = how many users it is true of), averaged over statements;
- ``all/audience_ndcg@10``: every statement true of at least one user (the general audience:
  must not get worse);
- ``clusters/single_topic_one``: share of single-topic users given one interest;
  ``clusters/multi_topic_several``: share of multi-topic users given two or more;
  ``clusters/mean_interests``: interests per user (the index holds that many vectors per user).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from uue.evaluation.metrics import ndcg_at_k, recall_at_k
from uue.search.interests import Interests, user_interests


@dataclass
class TruthUser:
    """A user's true topics as ``{topic key: chunk count}`` and their statements per topic."""

    topic_chunks: dict[str, int]
    topic_statements: dict[str, tuple[str, ...]]

    def minor_statements(self) -> list[str]:
        """The statements of the user's smallest topic that no other topic of theirs has ([] for one topic)."""
        if len(self.topic_chunks) < 2:
            return []
        minor = min(self.topic_chunks, key=lambda t: (self.topic_chunks[t], t))
        others = {s for t, ss in self.topic_statements.items() if t != minor for s in ss}
        return [s for s in self.topic_statements[minor] if s not in others]


def truth_from_topics(topics: Sequence) -> TruthUser:
    """A ``TruthUser`` from ``SyntheticDataset.iter_users_with_topics``' per-chunk topics."""
    counts = Counter(t.statements[-1] for t in topics if t is not None)
    statements = {t.statements[-1]: tuple(t.statements) for t in topics if t is not None}
    return TruthUser(dict(counts), statements)


def best_interest_scores(interests: Sequence[Interests], statements: np.ndarray) -> np.ndarray:
    """``[n_statements, n_users]``: each user's best interest's cosine with each statement."""
    out = np.empty((len(statements), len(interests)), dtype=np.float32)
    for u, user in enumerate(interests):
        out[:, u] = (statements @ user.vectors.T).max(axis=1)
    return out


def interest_metrics(single: np.ndarray, interests: Sequence[Interests], statement_vectors: np.ndarray,
                     texts: Sequence[str], user_statements: Sequence[Sequence[str]],
                     truth: Sequence[TruthUser]) -> dict[str, dict[str, float]]:
    """``{"single": {...}, "multi": {...}}`` (see the module docstring). ``single``: ``[n_users, d]``
    user vectors; ``statement_vectors``: ``[n_texts, d]`` as served, for ``texts``."""
    col = {t: j for j, t in enumerate(texts)}
    true_of = {j: {u for u, ss in enumerate(user_statements) if texts[j] in ss} for j in range(len(texts))}
    minor_of: dict[int, set[int]] = {}
    for u, t in enumerate(truth):
        for s in t.minor_statements():
            if s in col:
                minor_of.setdefault(col[s], set()).add(u)
    minor_cols = sorted(minor_of)
    all_cols = sorted(j for j, users in true_of.items() if users)
    matrices = {"single": statement_vectors @ single.T, "multi": best_interest_scores(interests, statement_vectors)}
    out: dict[str, dict[str, float]] = {}
    for name, scores in matrices.items():
        row: dict[str, float] = {"minor/n_statements": float(len(minor_cols)),
                                 "minor/n_pairs": float(sum(len(v) for v in minor_of.values()))}
        if minor_cols:
            positives = [true_of[j] for j in minor_cols]
            row["minor/audience_ndcg@10"] = ndcg_at_k(scores[minor_cols], positives, 10)
            row["minor/audience_recall@10"] = recall_at_k(scores[minor_cols], positives, 10)
            shares = []
            for j in minor_cols:
                top = set(np.argsort(-scores[j], kind="stable")[:len(true_of[j])].tolist())
                shares.append(len(top & minor_of[j]) / len(minor_of[j]))
            row["minor/user_recall@R"] = float(np.mean(shares))
        row["all/audience_ndcg@10"] = ndcg_at_k(scores[all_cols], [true_of[j] for j in all_cols], 10)
        out[name] = row
    counts = np.array([len(x) for x in interests])
    topics = np.array([len(t.topic_chunks) for t in truth])
    out["multi"]["clusters/single_topic_one"] = float(np.mean(counts[topics == 1] == 1)) if (topics == 1).any() else np.nan
    out["multi"]["clusters/multi_topic_several"] = (float(np.mean(counts[topics >= 2] >= 2)) if (topics >= 2).any()
                                                    else np.nan)
    out["multi"]["clusters/mean_interests"] = float(counts.mean())
    out["single"]["clusters/mean_interests"] = 1.0
    return out


def synthetic_truth(**options) -> dict[str, TruthUser]:
    """``{user_id: TruthUser}`` of ``SyntheticDataset(**options)`` (the same users ``iter_users`` gives)."""
    from uue.data.synthetic import SyntheticDataset

    return {record["user_id"]: truth_from_topics(topics)
            for record, topics in SyntheticDataset(**options).iter_users_with_topics()}


def _model_and_cache(embedder):
    """The dual encoder behind an evaluation embedder (open-vocabulary and cached wrappers) and its cache:
    interests need its token encoder and pooling, not only ``encode_users``."""
    inner = getattr(embedder, "inner", embedder)
    return getattr(inner, "model", inner), getattr(inner, "cache", None)


def _query_cost(vectors: np.ndarray, owners: np.ndarray | None, queries: np.ndarray, k: int = 10,
                repeats: int = 5) -> tuple[float, float]:
    """(index MB, median CPU ms per query) of a Flat FAISS index over ``vectors`` searched for ``k``
    users (``owners``: rows → user, best row per user kept, as ``--interests`` searches), one thread."""
    import os
    import tempfile
    import time

    import faiss

    from index.faiss_index import FaissIndex
    from uue.search.interest_search import search_owners

    index = FaissIndex("Flat", vectors.shape[1])
    index.add(np.arange(len(vectors), dtype=np.int64), vectors)
    with tempfile.TemporaryDirectory() as tmp:
        index.save(os.path.join(tmp, "index.faiss"))
        size = os.path.getsize(os.path.join(tmp, "index.faiss")) / 2**20
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        times = []
        for _ in range(repeats):
            start = time.process_time()
            for q in queries:
                if owners is None:
                    index.search(q[None, :], k)
                else:
                    search_owners(index, owners, q[None, :], k)
            times.append((time.process_time() - start) / len(queries) * 1000)
    finally:
        faiss.omp_set_num_threads(threads)
    return size, float(np.median(times))


def interest_benchmark(embedder, test_users: Sequence, all_users: Sequence, pool: Sequence[str],
                       truth: dict[str, TruthUser]) -> dict[str, float]:
    """Flat ``interests/{single,multi}/...`` metrics for the quality table: ``interest_metrics`` on the
    test users, and the cost on every user of the dataset: vectors per user, index MB, CPU ms per query."""
    from uue.data.schema import history_texts

    model, cache = _model_and_cache(embedder)
    statements = embedder.encode_statements(list(pool))
    histories = [history_texts(u.chunks) for u in test_users]
    single = embedder.encode_users(histories)
    interests = user_interests(model, histories, cache)
    found = interest_metrics(single, interests, statements, list(pool), [u.statements for u in test_users],
                             [truth[u.user_id] for u in test_users])
    everyone = [history_texts(u.chunks) for u in all_users]
    all_single = embedder.encode_users(everyone)
    all_interests = user_interests(model, everyone, cache)
    rows = np.concatenate([x.vectors for x in all_interests])
    owners = np.concatenate([np.full(len(x), u, dtype=np.int64) for u, x in enumerate(all_interests)])
    for name, (vectors, owner_map) in {"single": (all_single, None), "multi": (rows, owners)}.items():
        size, ms = _query_cost(vectors, owner_map, statements)
        found[name].update({"cost/n_users": float(len(all_users)), "cost/vectors": float(len(vectors)),
                            "cost/index_mb": size, "cost/query_cpu_ms": ms})
    return {f"interests/{name}/{key}": value for name, row in found.items() for key, value in row.items()}
