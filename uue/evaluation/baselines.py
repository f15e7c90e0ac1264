"""The baselines every metric is reported beside, behind one small ``Embedder`` protocol.

- ``TfidfScorer``: TF-IDF of each user's concatenated history against the statement
  text (cosine), fitted on the user documents plus the statements.
- ``BM25Scorer``: Okapi BM25 of each user's concatenated history (the documents) for the
  statement's words (the query, binary term weights), fitted on the user documents.
- the untrained base encoder with mean pooling over chunks: ``build_base_embedder``
  (``UniversalUserEmbeddingModel`` with ``use_attention_pooling=False``).

Everything in the evaluation is written against ``Embedder``: user and statement
vectors whose inner product is the score. The trained model, the base encoder,
TF-IDF and BM25 all fit it.
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

__all__ = ["Embedder", "TfidfScorer", "BM25Scorer", "build_base_embedder", "score_matrix", "user_texts"]


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


def _document(history: Sequence[str]) -> str:
    """A user's history as the one document the lexical scorers (TF-IDF, BM25) read."""
    return "\n".join(history)


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

    def fit_texts(self, histories: Sequence[Sequence[str]], statements: Sequence[str]) -> TfidfScorer:
        """Fit the vocabulary and IDF on user documents plus statements."""
        docs = [_document(h) for h in histories] + list(statements)
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
        return self.vectorizer.transform([_document(h) for h in histories]).astype(np.float32)

    def encode_statements(self, texts: list[str], batch_size: int = 0,
                          show_progress: bool = False) -> sparse.csr_matrix:
        self._check()
        return self.vectorizer.transform(list(texts)).astype(np.float32)


class BM25Scorer:
    """BM25 baseline: users' concatenated histories are the documents, statements the queries.

    A user's row holds the BM25 weight of each vocabulary term,
    ``idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·dl/avgdl))`` with
    ``idf(t) = log(1 + (N − df + 0.5) / (df + 0.5))``; a statement's row is binary (the
    terms it contains), so the inner product is the BM25 score of the statement for the
    user. Vocabulary, ``df``, ``N`` and ``avgdl`` come from the user documents only: a
    statement word absent from all of them adds nothing. Tokenisation is scikit-learn's
    ``CountVectorizer`` (lower-cased unigrams). Implements ``Embedder`` (scipy sparse
    rows); unlike the other embedders, user rows are not L2-normalised (BM25 scores are
    not cosines).
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, **vectorizer_kwargs: Any) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = float(k1)
        self.b = float(b)
        self.vectorizer = CountVectorizer(**vectorizer_kwargs)
        self.idf: np.ndarray | None = None
        self.avgdl = 0.0

    def fit_texts(self, histories: Sequence[Sequence[str]]) -> BM25Scorer:
        """Fit vocabulary, document frequencies and the mean document length on user histories."""
        docs = [_document(h) for h in histories]
        if not docs:
            raise ValueError("BM25 needs at least one user document to fit on")
        counts = self.vectorizer.fit_transform(docs).tocsc()
        n_docs = counts.shape[0]
        df = np.diff(counts.indptr).astype(np.float64)  # documents per term (nonzeros per column)
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        self.avgdl = float(counts.sum()) / n_docs
        logger.info("BM25 fitted on %d user documents, %d terms, mean length %.1f", n_docs, len(df), self.avgdl)
        return self

    def fit(self, users: Sequence[UserData]) -> BM25Scorer:
        return self.fit_texts(user_texts(users))

    def _check(self) -> np.ndarray:
        if self.idf is None:
            raise RuntimeError("BM25Scorer is not fitted: call fit() or fit_texts() first")
        return self.idf

    def score(self, users: Sequence[UserData], statements: Sequence[str]) -> np.ndarray:
        """BM25 scores ``[n_users, n_statements]``."""
        return to_dense(self.encode_users(user_texts(users)) @ self.encode_statements(list(statements)).T)

    # Embedder protocol
    def encode_users(self, histories: list[list[str]], batch_size: int = 0,
                     show_progress: bool = False) -> sparse.csr_matrix:
        idf = self._check()
        tf = self.vectorizer.transform([_document(h) for h in histories]).tocsr().astype(np.float64)
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        norm = self.k1 * (1.0 - self.b + self.b * doc_len / self.avgdl) if self.avgdl > 0 else np.full_like(doc_len, self.k1)
        rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
        tf.data = idf[tf.indices] * tf.data * (self.k1 + 1.0) / (tf.data + norm[rows])
        return tf.astype(np.float32)

    def encode_statements(self, texts: list[str], batch_size: int = 0,
                          show_progress: bool = False) -> sparse.csr_matrix:
        self._check()
        rows = self.vectorizer.transform(list(texts)).tocsr().astype(np.float32)
        rows.data[:] = 1.0  # binary query term weights
        return rows


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
