"""Training from a workspace's store: stream the train split, train, register the model."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from index.builds import active_build
from index.vectors import VectorSet, build_stem, read_statement_fingerprint
from storage.errors import NotFound, UUEError
from uue.model.chunk_cache import ChunkVectorCache
from uue.model.config import ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.training.checkpoint import read_checkpoint, weights_checksum
from uue.training.data import BLOCK_USERS, TrainingData
from uue.training.trainer import UniversalUserEmbeddingTrainer

logger = logging.getLogger(__name__)


def serving_statement_vectors(store: Any, model: UniversalUserEmbeddingModel) -> dict[str, np.ndarray]:
    """``{text: vector}`` of the active statement build when its statement side is the model's
    (a locked model trained from the model that built it): training then reads the serving
    statement index instead of embedding the pool again. {} otherwise."""
    try:
        build = active_build(store, "statements")
    except NotFound:
        return {}
    if read_statement_fingerprint(build) != model.statement_fingerprint():
        return {}
    try:
        vectors = VectorSet.load(build_stem(build), mmap=True)
    except NotFound:
        return {}
    texts = store.statement_texts([int(i) for i in vectors.ids])
    logger.info("reading %d statement vectors from the serving build %d", len(texts), build.id)
    return {texts[int(i)]: np.asarray(v, dtype=np.float32) for i, v in zip(vectors.ids, vectors.vectors)
            if int(i) in texts}


def train_from_store(store: Any, config: ModelConfig, output_dir: str | Path, *, resume_from: str | Path | None = None,
                     max_users: int | None = None, show_progress: bool = True,
                     cache_dir: str | Path | None = None, block_size: int = BLOCK_USERS) -> tuple[Path, dict[str, Any]]:
    """Train on the store's train split (dev split for model selection) and register the model.

    The pool is the store's non-held-out statements; held-out ones are dropped from the
    users' positives. Training users are streamed from the store ``block_size`` at a time
    (``uue.training.data``): memory does not grow with the split. In locked mode the chunk
    vectors go through the chunk-vector cache in ``cache_dir`` (the workspace's), which the
    index build then reads: the history of a user is embedded once for training and serving
    (without ``cache_dir``, a temporary cache file that is deleted at the end). Returns the
    model directory and the final metrics.
    """
    if store.count_users(split="train") == 0:
        raise UUEError("no training users in the store: run `uue ingest USERS.jsonl` first")
    limit = max_users if max_users and max_users > 0 else None
    if resume_from is not None:
        saved = read_checkpoint(resume_from).run
        if "max_users" in saved:
            if max_users is None:
                limit = saved["max_users"]
            elif limit != saved["max_users"]:
                raise UUEError(f"cannot resume {resume_from} exactly: it was trained with max_users "
                               f"{saved['max_users']}, not {limit} (leave --max-users out on resume)")
    data = TrainingData.from_store(store, limit, with_unlabelled=config.resolved().user_loss_weight > 0)
    model = UniversalUserEmbeddingModel.from_config(config)
    locked = config.training_mode == "locked"
    with tempfile.TemporaryDirectory(prefix="uue-chunks-") as scratch:
        cache = None
        if locked:  # on disk, never in memory: the chunk vectors of every training user
            cache = ChunkVectorCache.for_encoder(cache_dir if cache_dir is not None else scratch,
                                                 model.encoder_fingerprint(), model.encoder.hidden_size)
        known = serving_statement_vectors(store, model) if locked else None
        try:
            trainer = UniversalUserEmbeddingTrainer(config, output_dir=output_dir, show_progress=show_progress,
                                                    model=model, run_info={"max_users": limit}, chunk_cache=cache,
                                                    known_statements=known, data=data, block_size=block_size)
            metrics = trainer.train(resume_from=resume_from)
        finally:
            if cache is not None:
                cache.close()
    path = Path(output_dir).resolve()
    store.register_model(str(path), config.base_model_name, trainer.model.embedding_dim, metrics,
                         checksum=weights_checksum(path))
    return path, metrics
