"""Open-vocabulary statements: a statement that training never saw is scored in the pretrained geometry.

The user side of a trained model ends in a residual adapter, ``A p + b`` with ``A = I + W``
(``p``: the pooled history), then the projection ``P``. The adapter is learned from the
training statements only. For those it is what makes a trained model better than the
untrained encoder; for a statement nobody trained on, the benchmark's held-out statement
families show that it makes the ranking of users *worse* than the untrained encoder's
(MovieLens occupations, ParlSpeech party families: any share of the adapter lowers the
zero-shot ROC-AUC; see docs/quality.md). So a statement outside the model's training
statements is sent through the **query map** ``M`` that undoes the adapter for that query:

    u · normalize(M s)  ranks users as  (P p) · s  does

(up to each user's vector norm), i.e. by their pooled history in the pretrained space, the
trained attention pooling still choosing the chunks that matter. ``M`` is the
least-squares solution of ``Aᵀ Pᵀ q = Pᵀ s``: ``M = (P A Aᵀ Pᵀ)⁻¹ P A Pᵀ``; without a
projection (the locked default) it is exactly ``A⁻ᵀ``. Statement vectors stored in the
index builds stay the statement tower's own (builds are shared by models with the same
statement side); the map is applied when statements are scored.

``ModelConfig.open_vocabulary_mix`` (g, default 0) blends the two for new statements,
``normalize(g s + (1 - g) normalize(M s))``: 1 scores every statement as if it were trained.

Example::

    vocab = OpenVocabulary.from_model(model)
    vectors = vocab.apply(texts, model.encode_statements(texts))   # what queries score against
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

TRAINED_STATEMENTS_FILE = "trained_statements.json"
ADAPTER_KEY = "user_adapter.linear.weight"  # names in model.safetensors
PROJECTION_KEY = "projection.weight"


def query_map(adapter_weight: np.ndarray, projection_weight: np.ndarray | None = None) -> np.ndarray:
    """``M`` (``[d, d]``, float32) for the adapter weight ``W`` (``[h, h]``) and the projection
    ``P`` (``[d, h]``; None = identity)."""
    a = np.eye(adapter_weight.shape[0]) + np.asarray(adapter_weight, dtype=np.float64)
    p = np.eye(a.shape[0]) if projection_weight is None else np.asarray(projection_weight, dtype=np.float64)
    pa = p @ a
    # lstsq rather than inv: a nearly singular adapter gives the minimum-norm answer instead of noise
    m = np.linalg.lstsq(pa @ pa.T, pa @ p.T, rcond=None)[0]
    return m.astype(np.float32)


def read_trained_statements(directory: Path) -> frozenset[str] | None:
    """The statements a saved model trained on; None for a model saved before they were recorded."""
    path = Path(directory) / TRAINED_STATEMENTS_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    statements = data.get("statements") if isinstance(data, dict) else None
    if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
        raise ValueError(f"{path} must be a JSON object {{\"statements\": [text, ...]}}")
    return frozenset(statements)


def write_trained_statements(directory: Path, statements: Iterable[str]) -> None:
    path = Path(directory) / TRAINED_STATEMENTS_FILE
    path.write_text(json.dumps({"statements": sorted(statements)}, ensure_ascii=False, indent=0) + "\n",
                    encoding="utf-8")


class OpenVocabulary:
    """Which statements a model trained on, and the query map for all the others."""

    def __init__(self, trained: frozenset[str] | None, query_map: np.ndarray | None, mix: float = 0.0) -> None:
        self.trained = trained
        self.query_map = query_map
        self.mix = float(mix)

    @classmethod
    def from_model(cls, model) -> OpenVocabulary:
        trained = getattr(model, "trained_statements", None)
        adapter = getattr(model, "user_adapter", None)  # other embedders (baselines, test doubles) have none
        if trained is None or adapter is None:
            return cls(trained, None)
        weight = adapter.linear.weight.detach().cpu().double().numpy()
        if not weight.any():  # never trained, or a model from before: nothing to undo
            return cls(trained, None)
        projection = getattr(model.projection, "weight", None)
        projection = None if projection is None else projection.detach().cpu().double().numpy()
        return cls(trained, query_map(weight, projection), getattr(model.config, "open_vocabulary_mix", 0.0))

    @classmethod
    def from_pretrained(cls, directory: str | Path, checksum: str | None = None) -> OpenVocabulary:
        """From a saved model directory without building the transformer: reads
        ``trained_statements.json`` and only the adapter and projection tensors of the
        weights (``checksum``: the sha256 the store registered for them, checked first)."""
        from safetensors import safe_open

        from index.files import sha256_file
        from uue.model.config import ModelConfig

        path = Path(directory)
        trained = read_trained_statements(path)
        if trained is None:
            return cls(None, None)
        weights = path / "model.safetensors"
        if checksum is not None and sha256_file(weights) != checksum:
            raise ValueError(f"{weights} is not the file registered for this model (its sha256 differs): "
                             "run `uue index rebuild` after the training run that writes there has finished")
        with safe_open(str(weights), framework="np") as f:
            names = set(f.keys())
            if ADAPTER_KEY not in names:  # a model saved before the adapter: nothing to undo
                return cls(trained, None)
            weight = f.get_tensor(ADAPTER_KEY).astype(np.float64)
            projection = f.get_tensor(PROJECTION_KEY).astype(np.float64) if PROJECTION_KEY in names else None
        if not weight.any():
            return cls(trained, None)
        mix = ModelConfig.load(path / "config.json").open_vocabulary_mix
        return cls(trained, query_map(weight, projection), mix)

    @property
    def active(self) -> bool:
        return self.query_map is not None and self.mix < 1.0

    def novel(self, texts: Sequence[str]) -> np.ndarray:
        """True where a statement is not one the model trained on."""
        if self.trained is None:
            return np.zeros(len(texts), dtype=bool)
        return np.fromiter((t.strip() not in self.trained for t in texts), dtype=bool, count=len(texts))

    def apply(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """``vectors`` (the statement tower's, L2-normalised) as queries score them: rows of
        statements the model never trained on go through the query map."""
        if not self.active or len(texts) == 0:
            return vectors
        rows = np.flatnonzero(self.novel(texts))
        if len(rows) == 0:
            return vectors
        out = np.array(vectors, dtype=np.float32, copy=True)
        mapped = _normalize(out[rows] @ self.query_map.T)
        out[rows] = _normalize(self.mix * out[rows] + (1.0 - self.mix) * mapped) if self.mix > 0 else mapped
        return out


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class OpenVocabularyEmbedder:
    """An embedder (``encode_users`` / ``encode_statements``) whose statement vectors are the
    ones queries score against: the evaluation measures what is served."""

    def __init__(self, inner, model=None) -> None:
        self.inner = inner
        self.vocabulary = OpenVocabulary.from_model(model if model is not None else getattr(inner, "model", inner))

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def encode_statements(self, texts: list[str], *args, **kwargs) -> np.ndarray:
        return self.vocabulary.apply(texts, self.inner.encode_statements(texts, *args, **kwargs))
