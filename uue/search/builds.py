"""Store → vectors → index: versioned, incremental builds of the user and statement indexes.

A build writes NEW files (never overwrites the serving ones) and switches the active
pointer of both indexes in one database transaction at the very end, so a query that
runs meanwhile is answered by the old version and a build that fails or is killed
leaves the old version serving. Unchanged users (same content hash, same model) reuse
their stored vectors unless ``full=True``; a changed or new user is pooled from their
whole history, whose chunk vectors come from the chunk-vector cache (``cache_dir``):
only chunks never seen by this token encoder are embedded. The statement build also
stores each statement's score statistics over users (``uue.search.calibration``).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from index import create_index
from index.builds import activate_builds, active_build, prune_builds, record_build
from index.lock import LOCK_NAME, BuildLock
from index.vectors import VectorSet, build_stem, read_statement_fingerprint, write_statement_fingerprint
from storage.errors import NotFound, UUEError
from storage.store import Store
from storage.tables import IndexBuild
from uue.data.schema import history_texts
from uue.search.calibration import save_stats, statement_stats, user_sample

logger = logging.getLogger(__name__)

KINDS = ("users", "statements")
DEFAULT_FACTORY = "Flat"
USER_BATCH = 256  # users embedded per model call


@dataclass
class BuildResult:
    model_id: int
    factory: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    embedded: dict[str, int] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)
    build_ids: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def statement_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _previous(store: Store, kind: str, model_id: int, full: bool,
              same_statements: Callable[[IndexBuild], bool] | None = None
              ) -> tuple[IndexBuild | None, VectorSet | None]:
    """The active build of ``kind`` and its vectors when they can be reused: same model, or, for
    statements, another model whose statement side is identical (``same_statements``)."""
    try:
        build = active_build(store, kind)
    except NotFound:
        return None, None
    reusable = build.model_id == model_id or (kind == "statements" and same_statements is not None
                                              and same_statements(build))
    if full or not reusable:
        return build, None
    try:
        return build, VectorSet.load(build_stem(build), mmap=True)
    except NotFound:
        logger.warning("vectors of the active %s build are missing; embedding everything again", kind)
        return build, None


def _reuse(old: VectorSet | None, ids: np.ndarray, hashes: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(vectors with reused rows filled, boolean mask of rows still to embed)."""
    vectors = np.zeros((len(ids), dim), dtype=np.float32)
    todo = np.ones(len(ids), dtype=bool)
    if old is not None and len(old) and old.dim == dim:
        rows = old.rows(ids)
        same = rows >= 0
        same[same] = old.hashes[rows[same]] == hashes[same]
        vectors[same] = old.vectors[rows[same]]
        todo = ~same
    return vectors, todo


def open_chunk_cache(model, cache_dir: Path | None):
    """The chunk-vector cache of a locked model's (frozen, shared) token encoder; None for
    partial / full models, whose encoder is their own: a cache file per such model would
    only grow the disk (their unchanged users still reuse their vectors by content hash)."""
    locked = getattr(getattr(model, "config", None), "training_mode", None) == "locked"
    if cache_dir is None or not locked or not hasattr(model, "encoder_fingerprint"):
        return None
    from uue.model.chunk_cache import ChunkVectorCache

    return ChunkVectorCache.for_encoder(cache_dir, model.encoder_fingerprint(), model.encoder.hidden_size)


class _LazyModel:
    """Loads the active model (and opens its chunk-vector cache) only when something needs embedding."""

    def __init__(self, path: str, model=None, checksum: str | None = None, cache_dir: Path | None = None) -> None:
        self.path, self._model, self.checksum, self.cache_dir = path, model, checksum, cache_dir
        self._cache = None

    def get(self):
        if self._model is None:
            from uue.model.dual_encoder import UniversalUserEmbeddingModel

            logger.info("loading model %s", self.path)
            self._model = UniversalUserEmbeddingModel.from_pretrained(self.path, checksum=self.checksum)
            self._model.eval()
        return self._model

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


def _embed_users(store: Store, model: _LazyModel, pks: np.ndarray, out: np.ndarray, progress: bool) -> None:
    bar = tqdm(total=len(pks), desc="embed users", unit=" users", disable=not progress)
    position = {int(pk): i for i, pk in enumerate(pks)}
    batch_rows, batch_texts = [], []

    def flush() -> None:
        out[batch_rows] = model.encode_users(batch_texts)
        bar.update(len(batch_rows))
        batch_rows.clear()
        batch_texts.clear()

    for pk, record in store.iter_users(pks=pks.tolist()):
        batch_rows.append(position[pk])
        batch_texts.append(history_texts(record["chunks"]))
        if len(batch_rows) >= USER_BATCH:
            flush()
    if batch_rows:
        flush()
    bar.close()


def _write(kind: str, factory: str, dim: int, vectors: VectorSet, directory: Path, model_id: int,
           store: Store, written: list[Path], calibration_sample: np.ndarray | None = None,
           statement_fingerprint: str | None = None) -> int:
    stem = directory / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    index = create_index(factory, dim)
    if not index.is_trained:
        index.train(vectors.vectors)
    if len(vectors):
        index.add(vectors.ids, vectors.vectors)
    path = stem.with_suffix(".faiss")
    written.extend([path, Path(f"{path}.json"), *VectorSet.files(stem)])
    checksum = index.save(path)
    vectors.save(stem)
    if calibration_sample is not None:
        save_stats(stem, statement_stats(vectors.vectors, calibration_sample))
    if statement_fingerprint is not None:
        write_statement_fingerprint(stem, statement_fingerprint)
    return record_build(store, model_id=model_id, kind=kind, factory=factory, dim=dim, count=len(vectors),
                        path=str(path), checksum=checksum)


def build_indexes(store: Store, directory: Path, *, factory: str | None = None, statement_factory: str | None = None,
                  full: bool = False, progress: bool = True, model=None, cache_dir: Path | None = None) -> BuildResult:
    """Embed what changed with the active model, write both indexes, switch atomically.

    ``cache_dir``: the chunk-vector cache (default: ``cache/`` beside ``directory``). One build
    runs at a time per workspace (``index.lock.BuildLock``; a second waits ``store.busy_timeout``
    seconds, then raises ``WorkspaceBusy``); holding the lock, it first deletes what killed builds
    left behind (no other build can be writing them).
    """
    with BuildLock(directory, store.busy_timeout):
        _remove_orphans(store, directory, older_than=time.time())
        return _build_indexes(store, directory, factory=factory, statement_factory=statement_factory, full=full,
                              progress=progress, model=model, cache_dir=cache_dir)


def _build_indexes(store: Store, directory: Path, *, factory: str | None, statement_factory: str | None,
                   full: bool, progress: bool, model, cache_dir: Path | None) -> BuildResult:
    started, started_wall = time.perf_counter(), time.time()
    model_row = store.active_model()
    dim = model_row.embedding_dim
    lazy = _LazyModel(model_row.path, model, model_row.checksum,
                      cache_dir if cache_dir is not None else Path(directory).parent / "cache")
    directory.mkdir(parents=True, exist_ok=True)
    if store.count_users() == 0:
        raise UUEError("no users stored: run `uue ingest USERS.jsonl` first")

    hashes = store.content_hashes()
    statements = store.statements()
    sources = {
        "users": (np.fromiter(sorted(hashes), np.int64), np.array([hashes[k] for k in sorted(hashes)], dtype=str)),
        "statements": (np.array([i for i, _ in statements], np.int64),
                       np.array([statement_hash(t) for _, t in statements], dtype=str)),
    }
    result = BuildResult(model_id=model_row.id, factory={})
    written: list[Path] = []
    try:
        new_ids = {}
        vectors_of: dict[str, np.ndarray] = {}
        for kind in KINDS:
            previous, old = _previous(store, kind, model_row.id, full, same_statements=lazy.same_statements)
            chosen = (factory if kind == "users" else statement_factory) or (previous.factory if previous else None)
            chosen = chosen or DEFAULT_FACTORY
            ids, content = sources[kind]
            vectors, todo = _reuse(old, ids, content, dim)
            if todo.any():
                if kind == "users":
                    fresh = np.zeros((int(todo.sum()), dim), dtype=np.float32)
                    _embed_users(store, lazy, ids[todo], fresh, progress)
                    vectors[todo] = fresh
                else:
                    texts = dict(statements)
                    vectors[todo] = lazy.get().encode_statements([texts[int(i)] for i in ids[todo]],
                                                                 show_progress=progress)
            result.factory[kind] = chosen
            result.counts[kind] = len(ids)
            result.embedded[kind] = int(todo.sum())
            result.reused[kind] = int(len(ids) - todo.sum())
            sample = user_sample(vectors_of["users"]) if kind == "statements" else None
            fingerprint = None  # recorded with statement builds, so another model can reuse them
            if kind == "statements":  # (without loading the model when nothing was embedded)
                fingerprint = (lazy.statement_fingerprint() if todo.any()
                               else read_statement_fingerprint(previous) if previous is not None else None)
            vectors_of[kind] = vectors
            new_ids[kind] = _write(kind, chosen, dim, VectorSet.build(ids, vectors, content), directory,
                                   model_row.id, store, written, calibration_sample=sample,
                                   statement_fingerprint=fingerprint)
        activate_builds(store, [new_ids[k] for k in KINDS])
        result.build_ids = new_ids
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    prune_builds(store, keep=2)
    _remove_orphans(store, directory, older_than=started_wall)
    result.seconds = time.perf_counter() - started
    return result


def _remove_orphans(store: Store, directory: Path, older_than: float) -> None:
    """Delete files of builds that no longer exist (pruned, or left by a killed build: its ``.tmp``
    files too). Called under the build lock: no other build is writing into ``directory``."""
    from index.builds import list_builds

    keep = set()
    for build in list_builds(store):
        stem = build_stem(build)
        keep.update({Path(build.path), Path(f"{build.path}.json"), *VectorSet.files(stem)})
    for path in directory.iterdir():
        if path.name == LOCK_NAME:
            continue
        if path.is_file() and path not in keep and path.stat().st_mtime < older_than:
            logger.info("removing orphan file %s", path)
            path.unlink(missing_ok=True)
