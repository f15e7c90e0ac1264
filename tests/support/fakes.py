"""A deterministic bag-of-words embedder with the model's inference API, for pipeline tests."""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import numpy as np


class BagOfWordsEmbedder:
    """Each word gets a fixed random direction; a text is the normalised sum of its words."""

    def __init__(self, dim: int = 64) -> None:
        self.embedding_dim = dim
        self.config = SimpleNamespace(num_chunks_per_user=0)

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        return np.random.default_rng(seed).standard_normal(self.embedding_dim)

    def _text(self, text: str) -> np.ndarray:
        v = sum((self._word(w) for w in re.findall(r"[a-z]+", text.lower())), np.zeros(self.embedding_dim))
        return v / (np.linalg.norm(v) or 1.0)

    def encode_statements(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        return np.stack([self._text(t) for t in texts]).astype(np.float32) if texts else \
            np.zeros((0, self.embedding_dim), np.float32)

    def encode_users(self, histories: list[list[str]], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        out = np.stack([np.mean([self._text(t) for t in h], axis=0) for h in histories])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    def eval(self) -> BagOfWordsEmbedder:
        return self

    # the model's token-encoder / pooling pieces, for multi-interest builds (uue.search.interests)
    def chunk_vectors(self, texts: list[str], cache=None):
        import torch

        return torch.from_numpy(self.encode_statements(list(texts)))

    def pool_users(self, chunk_vectors, groups):
        import torch

        pooled = torch.stack([chunk_vectors[list(g)].mean(dim=0) for g in groups])
        return torch.nn.functional.normalize(pooled, dim=-1)
