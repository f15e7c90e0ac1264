"""Inference on a trained model directory: user and statement vectors, similarities."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from uue.data.schema import UserChunk, UserData
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.model.open_vocabulary import OpenVocabulary

logger = logging.getLogger(__name__)


def _texts(chunks: Sequence[UserChunk] | Sequence[str]) -> list[str]:
    texts = [c.text if isinstance(c, UserChunk) else str(c) for c in chunks]
    if not texts:
        raise ValueError("a user needs at least one chunk")
    return texts


class UniversalUserEmbeddingEvaluator:
    """Loads a model directory (``save_pretrained`` output) and embeds users and statements.

    Vectors are float32 and L2-normalised, so a dot product is the cosine similarity.
    Statement vectors are the ones queries score against: a statement the model did not
    train on is mapped open-vocabulary (``uue.model.open_vocabulary``), as the index does.
    """

    def __init__(self, model_path: str | Path, device: str | torch.device | None = None,
                 batch_size: int = 64, *, trust_remote_code: bool = False) -> None:
        self.model_path = Path(model_path)
        self.model = UniversalUserEmbeddingModel.from_pretrained(self.model_path, device=device,
                                                                 trust_remote_code=trust_remote_code)
        self.vocabulary = OpenVocabulary.from_model(self.model)
        self.batch_size = batch_size

    @property
    def embedding_dim(self) -> int:
        return self.model.embedding_dim

    def get_user_embedding(self, chunks: Sequence[UserChunk] | Sequence[str]) -> np.ndarray:
        """``[d]`` vector of one user from their chunks (objects or plain texts), oldest first."""
        return self.model.encode_users([_texts(chunks)], batch_size=self.batch_size)[0]

    def get_statement_embedding(self, text: str) -> np.ndarray:
        return self.get_statement_embeddings([text])[0]

    def compute_similarity(self, chunks: Sequence[UserChunk] | Sequence[str], statement: str) -> float:
        """Cosine similarity of a user and a statement, in [-1, 1]."""
        return float(self.get_user_embedding(chunks) @ self.get_statement_embedding(statement))

    def get_user_embeddings(self, users: Sequence[UserData], show_progress: bool = False) -> np.ndarray:
        """``[n, d]`` for many users, deduplicating chunk texts across them."""
        return self.model.encode_users([_texts(u.chunks) for u in users], batch_size=self.batch_size,
                                       show_progress=show_progress)

    def get_statement_embeddings(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        vectors = self.model.encode_statements(texts, batch_size=self.batch_size, show_progress=show_progress)
        return self.vocabulary.apply(texts, vectors)
