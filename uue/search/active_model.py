"""The active model of an index build, loaded only when something needs embedding.

Shared by the build engines: the local engine calls it in the building process, the Ray
engine in each of its model actors (so both embed users through the same code path).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from index.vectors import read_statement_fingerprint
from storage.tables import IndexBuild

logger = logging.getLogger(__name__)


def open_chunk_cache(model, cache_dir: Path | None):
    """The chunk-vector cache of a locked model's (frozen, shared) token encoder; None for
    partial / full models, whose encoder is their own: a cache file per such model would
    only grow the disk (their unchanged users still reuse their vectors by content hash)."""
    locked = getattr(getattr(model, "config", None), "training_mode", None) == "locked"
    if cache_dir is None or not locked or not hasattr(model, "encoder_fingerprint"):
        return None
    from uue.model.chunk_cache import ChunkVectorCache

    return ChunkVectorCache.for_encoder(cache_dir, model.encoder_fingerprint(), model.encoder.hidden_size)


class LazyModel:
    """Loads the active model (and opens its chunk-vector cache) only when something needs embedding."""

    def __init__(self, path: str, model=None, checksum: str | None = None, cache_dir: Path | None = None,
                 trust_remote_code: bool = False, precision: str | None = None) -> None:
        self.path, self._model, self.checksum, self.cache_dir = path, model, checksum, cache_dir
        self.trust_remote_code = trust_remote_code  # the caller's choice (never the model directory's)
        #: "fp32" / "bf16" decided by the building process, imposed on a model loaded here (a Ray
        #: worker on another machine computes at the precision the build records); None: the model's own
        self.forced_precision = precision
        self._cache = None
        self.handed_in = model is not None  # a model object given by the caller, not loaded from ``path``

    def get(self):
        if self._model is None:
            from uue.model.dual_encoder import UniversalUserEmbeddingModel

            logger.info("loading model %s", self.path)
            self._model = UniversalUserEmbeddingModel.from_pretrained(self.path, checksum=self.checksum,
                                                                      trust_remote_code=self.trust_remote_code)
            self._model.eval()
            if self.forced_precision is not None:
                self._model.inference_precision = self.forced_precision
        return self._model

    def precision(self) -> str | None:
        """The inference precision ("fp32" / "bf16") users are embedded at, without loading the
        weights when the model is not loaded yet (its config and this machine decide); None for a
        model object without one."""
        if self.forced_precision is not None:
            return self.forced_precision
        if self._model is not None:
            return getattr(self._model, "precision", None)
        from uue.model.config import ModelConfig
        from uue.model.dual_encoder import CONFIG_FILE, default_device
        from uue.model.precision import requested_precision, resolve_precision

        if not (Path(self.path) / CONFIG_FILE).is_file():
            return None  # no model directory: loading it will say so, where it is needed
        config = ModelConfig.load(Path(self.path) / CONFIG_FILE)
        return resolve_precision(requested_precision(config.extra.get("inference_precision")), default_device())

    def cache(self):
        if self._cache is None:
            self._cache = open_chunk_cache(self.get(), self.cache_dir)
        return self._cache

    def statement_fingerprint(self) -> str | None:
        model = self.get()
        return model.statement_fingerprint() if hasattr(model, "statement_fingerprint") else None

    def same_statements(self, build: IndexBuild) -> bool:
        """Whether ``build`` (another model's) holds exactly the vectors this model gives statements."""
        recorded = read_statement_fingerprint(build)
        return recorded is not None and recorded == self.statement_fingerprint()

    def encode_users(self, histories: list[list[str]]) -> np.ndarray:
        cache = self.cache()
        if cache is None:
            return self.get().encode_users(histories)
        return self.get().encode_users(histories, cache=cache)
