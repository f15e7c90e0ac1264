"""Why did a user match? The chunks of their history that score highest against a statement.

Each chunk is embedded as a one-chunk history through the user tower (the same chunk
pooling, adapter and projection as the whole user) and scored by its cosine with the
statement's vector: the per-chunk similarity. A user's score is a pooling over these
chunks, so the chunks that score highest are the ones that pulled the user towards the
statement. For a locked model the chunk vectors come from the chunk-vector cache that
the index build filled, so explaining costs a pooling per chunk, not a transformer pass.
At most ``MAX_CHUNKS`` of a user's most recent chunks are scored (``scored`` says how many).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from uue.search.builds import open_chunk_cache
from uue.search.results import QueryError

logger = logging.getLogger(__name__)

MAX_CHUNKS = 2000  # most recent chunks scored per user
MAX_TOP = 20


@dataclass
class ChunkHit:
    position: int  # the chunk's place in the user's stored history (0 = first)
    text: str
    platform: str | None
    timestamp: str | None
    score: float  # cosine of the chunk (as a one-chunk user) with the statement


@dataclass
class Explanation:
    user_id: str
    chunks: int  # in the user's history
    scored: int  # of those, the most recent ones scored (at most MAX_CHUNKS)
    top: list[list[ChunkHit]] = field(default_factory=list)  # per statement asked, best first

    def to_json(self, statement: int = 0) -> dict:
        return {"chunks": self.chunks, "scored": self.scored, "top": [asdict(h) for h in self.top[statement]]}


def _recent(chunks: list[dict]) -> list[int]:
    """Positions of the most recent ``MAX_CHUNKS`` chunks (by timestamp where all have one)."""
    order = list(range(len(chunks)))
    if chunks and all(c.get("timestamp") for c in chunks):
        order.sort(key=lambda i: chunks[i]["timestamp"])
    return order[-MAX_CHUNKS:]


class Explainer:
    """Scores users' chunks against statement vectors, with the searcher's model."""

    def __init__(self, searcher, cache_dir: str | Path | None = None) -> None:
        self.searcher = searcher
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None

    def chunk_vectors(self, texts: list[str]) -> np.ndarray:
        """``[n, d]``: each text embedded as a one-chunk user."""
        model = self.searcher.model()
        cache = open_chunk_cache(model, self.cache_dir)  # opened per call: its sqlite handle is per thread
        try:
            histories = [[t] for t in texts]
            return model.encode_users(histories, cache=cache) if cache is not None else model.encode_users(histories)
        finally:
            if cache is not None:
                cache.close()

    def explain(self, user_ids: Sequence[str], statement_vectors: np.ndarray, top: int = 3) -> list[Explanation]:
        """For each user, the ``top`` chunks per row of ``statement_vectors`` (``[s, d]``)."""
        if not 1 <= top <= MAX_TOP:
            raise QueryError(f"explain_top must be between 1 and {MAX_TOP}, got {top}")
        records = [self.searcher.store.get_user(u)[1] for u in user_ids]
        picked = [_recent(r["chunks"]) for r in records]
        texts = list(dict.fromkeys(r["chunks"][i]["text"] for r, rows in zip(records, picked) for i in rows))
        row_of = {t: i for i, t in enumerate(texts)}
        vectors = self.chunk_vectors(texts)
        queries = np.atleast_2d(np.asarray(statement_vectors, dtype=np.float32))  # every user has >= 1 chunk
        out = []
        for user_id, record, rows in zip(user_ids, records, picked):
            chunks = record["chunks"]
            scores = vectors[[row_of[chunks[i]["text"]] for i in rows]] @ queries.T  # [n, s]
            per_statement = []
            for s in range(queries.shape[0]):
                best = np.argsort(-scores[:, s], kind="stable")[:top]
                per_statement.append([ChunkHit(rows[b], chunks[rows[b]]["text"], chunks[rows[b]]["platform"],
                                               chunks[rows[b]]["timestamp"], float(scores[b, s])) for b in best])
            out.append(Explanation(user_id, len(chunks), len(rows), per_statement))
        return out
