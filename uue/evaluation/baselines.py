"""The baselines every metric is reported beside, behind one small ``Embedder`` protocol.

- ``TfidfScorer``: TF-IDF of each user's concatenated history against the statement
  text (cosine), fitted on the user documents plus the statements.
- the untrained base encoder with mean pooling over chunks: ``build_base_embedder``
  (``UniversalUserEmbeddingModel`` with ``use_attention_pooling=False``).

Everything in the evaluation is written against ``Embedder``: user and statement
vectors whose inner product is the score. The trained model, the base encoder and
TF-IDF all fit it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

    from uue.data.schema import UserData

logger = logging.getLogger(__name__)

Matrix = Union[np.ndarray, "sparse.spmatrix"]

__all__ = ["Embedder", "TfidfScorer", "build_base_embedder", "score_matrix", "user_texts"]


@runtime_checkable
class Embedder(Protocol):
    """Maps user histories and statements to L2-normalised rows in one space.

    ``encode_users`` takes one list of chunk texts per user; both methods return a
    ``[n, dim]`` float32 array (TF-IDF may return a scipy sparse matrix instead).
    """

    def encode_users(self, histories: list[list[str]], batch_size: int = ...,
                     show_progress: bool = False) -> Any: ...

    def encode_statements(self, texts: list[str], batch_size: int = ...,
                          show_progress: bool = False) -> Any: ...


def user_texts(users: Sequence[UserData]) -> list[list[str]]:
    """Each user's history as a list of chunk texts."""
    return [[c.text for c in u.chunks] for u in users]


def _is_sparse(x: Any) -> bool:
    try:
        from scipy import sparse
    except ImportError:  # pragma: no cover - scipy ships with scikit-learn
        return False
    return sparse.issparse(x)


def to_dense(x: Matrix) -> np.ndarray:
    """A dense float32 array from an ndarray or a scipy sparse matrix."""
    if _is_sparse(x):
        return np.asarray(x.toarray(), dtype=np.float32)  # type: ignore[union-attr]
    return np.asarray(x, dtype=np.float32)


def score_matrix(embedder: Embedder, histories: list[list[str]], statements: list[str],
                 *, user_vectors: Matrix | None = None, show_progress: bool = False) -> np.ndarray:
    """Dense ``[n_users, n_statements]`` inner products of user and statement vectors.

    ``user_vectors`` reuses already computed user rows.
    """
    U = (embedder.encode_users(histories, show_progress=show_progress) if user_vectors is None
         else user_vectors)
    S = embedder.encode_statements(statements, show_progress=show_progress)
    product = U @ S.T
    return to_dense(product)


class TfidfScorer:
    """TF-IDF baseline: cosine of a user's concatenated history and a statement.

    ``TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)`` fitted on the
    user documents plus the statements; rows are L2-normalised, so inner product = cosine.
    Implements ``Embedder`` (rows are scipy sparse matrices).
    """

    def __init__(self, **vectorizer_kwargs: Any) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        params: dict[str, Any] = {"sublinear_tf": True, "ngram_range": (1, 2), "min_df": 1}
        params.update(vectorizer_kwargs)
        self.vectorizer = TfidfVectorizer(**params)
        self._fitted = False

    @staticmethod
    def _document(history: Sequence[str]) -> str:
        return "\n".join(history)

    def fit_texts(self, histories: Sequence[Sequence[str]], statements: Sequence[str]) -> TfidfScorer:
        """Fit the vocabulary and IDF on user documents plus statements."""
        docs = [self._document(h) for h in histories] + list(statements)
        if not docs:
            raise ValueError("TF-IDF needs at least one user or statement to fit on")
        self.vectorizer.fit(docs)
        self._fitted = True
        logger.info("TF-IDF fitted on %d documents, %d features", len(docs), len(self.vectorizer.vocabulary_))
        return self

    def fit(self, users: Sequence[UserData], statements: Sequence[str]) -> TfidfScorer:
        return self.fit_texts(user_texts(users), statements)

    def _check(self) -> None:
        if not self._fitted:
            raise RuntimeError("TfidfScorer is not fitted: call fit() or fit_texts() first")

    def user_vectors(self, users: Sequence[UserData]) -> sparse.csr_matrix:
        return self.encode_users(user_texts(users))

    def statement_vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self.encode_statements(list(texts))

    def score(self, users: Sequence[UserData], statements: Sequence[str]) -> np.ndarray:
        """Cosine scores ``[n_users, n_statements]``."""
        return to_dense(self.user_vectors(users) @ self.statement_vectors(statements).T)

    # Embedder protocol
    def encode_users(self, histories: list[list[str]], batch_size: int = 0,
                     show_progress: bool = False) -> sparse.csr_matrix:
        self._check()
        return self.vectorizer.transform([self._document(h) for h in histories]).astype(np.float32)

    def encode_statements(self, texts: list[str], batch_size: int = 0,
                          show_progress: bool = False) -> sparse.csr_matrix:
        self._check()
        return self.vectorizer.transform(list(texts)).astype(np.float32)


def build_base_embedder(base_model_name: str | None = None, **config_overrides: Any) -> Embedder:
    """The untrained base encoder with mean pooling over chunks (the second baseline).

    Raises ``ImportError`` / ``OSError`` when the model code or weights are unavailable.
    """
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel  # type: ignore[import-not-found]

    fields: dict[str, Any] = dict(config_overrides)
    if base_model_name is not None:
        fields["base_model_name"] = base_model_name
    fields["use_attention_pooling"] = False
    config = ModelConfig(**fields)
    model = UniversalUserEmbeddingModel.from_config(config)
    width = getattr(getattr(model, "encoder", None), "hidden_size", None)
    if width is not None and config.embedding_dim != width:
        # the base encoder is the backbone itself: no (random, untrained) projection
        import torch

        model.projection = torch.nn.Identity()
        model.config = dataclasses.replace(model.config, embedding_dim=int(width))
    model.eval()  # no dropout in an evaluation baseline
    return model
