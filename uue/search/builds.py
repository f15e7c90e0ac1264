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

from index import create_index
from index.builds import activate_builds, active_build, prune_builds, record_build
from index.errors import IndexFileError
from index.files import sha256_file
from index.lock import LOCK_NAME, BuildLock
from index.sharded import build_sharded, check_shardable, ivfdata_path
from index.vectors import (
    VectorSet,
    build_stem,
    file_checksums,
    read_build_precision,
    read_statement_fingerprint,
    save_array,
    write_encoder_info,
)
from storage.errors import NotFound, UUEError
from storage.store import Store
from storage.tables import IndexBuild
from uue.search.active_model import LazyModel, open_chunk_cache
from uue.search.calibration import save_stats, statement_stats, user_sample
from uue.search.engines import ENGINES, EmbeddingEngine, create_engine

logger = logging.getLogger(__name__)

__all__ = ["BuildResult", "Sharding", "build_indexes", "open_chunk_cache", "statement_hash"]

KINDS = ("users", "statements")
DEFAULT_FACTORY = "Flat"


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
              same_statements: Callable[[IndexBuild], bool] | None = None,
              precision: Callable[[], str | None] | None = None) -> tuple[IndexBuild | None, VectorSet | None]:
    """The active build of ``kind`` and its vectors when they can be reused: same model at the same
    inference precision (``precision()``), or, for statements, another model whose statement side
    is identical (``same_statements``: its fingerprint includes the precision)."""
    try:
        build = active_build(store, kind)
    except NotFound:
        return None, None
    reusable = build.model_id == model_id or (kind == "statements" and same_statements is not None
                                              and same_statements(build))
    if reusable and not full and precision is not None:
        now, then = precision(), read_build_precision(build)
        if now is not None and now != then:
            logger.info("the active %s build was embedded in %s, this build runs in %s: embedding all of it "
                        "again", kind, then, now)
            reusable = False
    if full or not reusable:
        return build, None
    try:  # verified: a corrupt vector must not be carried into the new build
        return build, VectorSet.load(build_stem(build), mmap=True, checksums=build.files)
    except (NotFound, IndexFileError) as exc:
        logger.warning("vectors of the active %s build are unusable (%s); embedding everything again", kind, exc)
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


@dataclass
class Sharding:
    """A sharded build of the user index (IVF factories): ``shards`` parts added in parallel by the
    engine (``index.sharded``), merged in memory, or into an ``.ivfdata`` file when ``ondisk``."""

    shards: int = 1
    ondisk: bool = False
    engine: Callable[[], EmbeddingEngine] | None = None

    @property
    def active(self) -> bool:
        return self.shards > 1 or self.ondisk


def _write(kind: str, factory: str, dim: int, vectors: VectorSet, directory: Path, model_id: int,
           store: Store, written: list[Path], calibration_sample: np.ndarray | None = None,
           statement_fingerprint: str | None = None, sharding: Sharding | None = None,
           extra: dict[str, np.ndarray] | None = None, precision: str | None = None,
           queries: np.ndarray | None = None) -> int:
    """Build, save and record one index. ``queries``: vectors like the ones it will be asked (the
    statements, for the users index) that calibrate a graph index's efSearch (``index.faiss_tuning``)."""
    stem = directory / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    path = stem.with_suffix(".faiss")
    written.extend([path, Path(f"{path}.json"), ivfdata_path(path), *VectorSet.files(stem)])
    if sharding is not None and sharding.active:
        index = build_sharded(factory, dim, vectors.ids, vectors.vectors, shards=sharding.shards,
                              map=sharding.engine().map if sharding.engine else None,
                              ondisk=ivfdata_path(path) if sharding.ondisk else None)
    else:
        index = create_index(factory, dim)
        if not index.is_trained:
            index.train(vectors.vectors)
        if len(vectors):
            index.add(vectors.ids, vectors.vectors)
            calibrate = getattr(index, "calibrate", None)  # graph indexes: efSearch for the target recall
            if calibrate is not None:
                calibrate(vectors.vectors, vectors.ids, queries)
    checksum = index.save(path)
    files = vectors.save(stem)
    for name, array in (extra or {}).items():  # arrays kept beside the vectors (interests: owners, weights...)
        files[f"{name}.npy"] = save_array(Path(f"{stem}.{name}.npy"), array)
    if calibration_sample is not None:
        save_stats(stem, statement_stats(vectors.vectors, calibration_sample))
    if statement_fingerprint is not None or precision is not None:
        write_encoder_info(stem, statement_fingerprint=statement_fingerprint, precision=precision)
    files.update(file_checksums(stem, ("calibration.npy", "encoder.json")))
    if ivfdata_path(path).is_file():  # an on-disk IVF's inverted lists: verified like the rest
        files["ivfdata"] = sha256_file(ivfdata_path(path))
    return record_build(store, model_id=model_id, kind=kind, factory=factory, dim=dim, count=len(vectors),
                        path=str(path), checksum=checksum, files=files)


def build_indexes(store: Store, directory: Path, *, factory: str | None = None, statement_factory: str | None = None,
                  full: bool = False, progress: bool = True, model=None, cache_dir: Path | None = None,
                  engine: str = "local", address: str | None = None, workers: int | None = None,
                  shards: int = 1, ondisk: bool = False, trust_remote_code: bool = False,
                  interests: bool | None = None) -> BuildResult:
    """Embed what changed with the active model, write both indexes, switch atomically.

    ``cache_dir``: the chunk-vector cache (default: ``cache/`` beside ``directory``). One build
    runs at a time per workspace (``index.lock.BuildLock``; a second waits ``store.busy_timeout``
    seconds, then raises ``WorkspaceBusy``); holding the lock, it first deletes what killed builds
    left behind (no other build can be writing them).
    ``engine``: where users are embedded and shards added: ``local`` (this process) or ``ray``
    (``address``: the cluster; ``workers``: model actors, or shard processes locally).
    ``shards`` > 1 or ``ondisk``: build an IVF user index in shards merged by FAISS (``index.sharded``).
    ``interests``: also build the multi-interest index (``uue.search.interest_build``); None: when
    the active build has one; False: retire it.
    """
    if engine not in ENGINES:
        raise UUEError(f"unknown build engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "local" and address:
        raise UUEError("--address names a Ray cluster: use it with --engine ray")
    if shards < 1:
        raise UUEError(f"--shards must be >= 1, got {shards}")
    engines: list[EmbeddingEngine] = []

    def get_engine() -> EmbeddingEngine:  # started on first use: a Ray cluster only when there is work
        if not engines:
            engines.append(create_engine(engine, address=address, workers=workers))
        return engines[0]

    try:
        with BuildLock(directory, store.busy_timeout):
            _remove_orphans(store, directory, older_than=time.time())
            return _build_indexes(store, directory, factory=factory, statement_factory=statement_factory,
                                  full=full, progress=progress, model=model, cache_dir=cache_dir,
                                  get_engine=get_engine, sharding=Sharding(shards, ondisk, get_engine),
                                  trust_remote_code=trust_remote_code, interests=interests)
    finally:
        for opened in engines:
            opened.close()


def _build_indexes(store: Store, directory: Path, *, factory: str | None, statement_factory: str | None,
                   full: bool, progress: bool, model, cache_dir: Path | None,
                   get_engine: Callable[[], EmbeddingEngine], sharding: Sharding,
                   trust_remote_code: bool = False, interests: bool | None = None) -> BuildResult:
    started, started_wall = time.perf_counter(), time.time()
    model_row = store.active_model()
    dim = model_row.embedding_dim
    lazy = LazyModel(model_row.path, model, model_row.checksum,
                     cache_dir if cache_dir is not None else Path(directory).parent / "cache", trust_remote_code)
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
        new_ids, embedded = {}, {}
        for kind in KINDS:  # embed both kinds first: the statements calibrate the users index's search
            previous, old = _previous(store, kind, model_row.id, full, same_statements=lazy.same_statements,
                                      precision=lazy.precision)
            chosen = (factory if kind == "users" else statement_factory) or (previous.factory if previous else None)
            chosen = chosen or DEFAULT_FACTORY
            if kind == "users" and sharding.active:
                check_shardable(chosen, dim)  # before the embedding, not after
            ids, content = sources[kind]
            vectors, todo = _reuse(old, ids, content, dim)
            if todo.any():
                if kind == "users":
                    fresh = np.zeros((int(todo.sum()), dim), dtype=np.float32)
                    get_engine().embed_users(store, lazy, ids[todo], fresh, progress)
                    vectors[todo] = fresh
                else:
                    texts = dict(statements)
                    vectors[todo] = lazy.get().encode_statements([texts[int(i)] for i in ids[todo]],
                                                                 show_progress=progress)
            result.factory[kind] = chosen
            result.counts[kind] = len(ids)
            result.embedded[kind] = int(todo.sum())
            result.reused[kind] = int(len(ids) - todo.sum())
            fingerprint = None  # recorded with statement builds, so another model can reuse them
            if kind == "statements":  # (without loading the model when nothing was embedded)
                fingerprint = (lazy.statement_fingerprint() if todo.any()
                               else read_statement_fingerprint(previous) if previous is not None else None)
            embedded[kind] = (chosen, VectorSet.build(ids, vectors, content), fingerprint)
        for kind in KINDS:
            chosen, vector_set, fingerprint = embedded[kind]
            new_ids[kind] = _write(
                kind, chosen, dim, vector_set, directory, model_row.id, store, written,
                calibration_sample=user_sample(embedded["users"][1].vectors) if kind == "statements" else None,
                statement_fingerprint=fingerprint, sharding=sharding if kind == "users" else None,
                precision=lazy.precision(), queries=embedded["statements"][1].vectors if kind == "users" else None)
        if interests is None:
            interests = _has_active(store, "interests")
        if interests:
            from uue.search.interest_build import build_interest_index

            new_ids["interests"] = build_interest_index(store, lazy, directory, result.factory["users"], dim,
                                                        model_row.id, sources["users"], full, progress, written,
                                                        result, _write, precision=lazy.precision())
        activate_builds(store, list(new_ids.values()), retire=() if interests else ("interests",))
        result.build_ids = new_ids
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    prune_builds(store, keep=2)
    _remove_orphans(store, directory, older_than=started_wall)
    result.seconds = time.perf_counter() - started
    return result


def _has_active(store: Store, kind: str) -> bool:
    try:
        active_build(store, kind)
    except NotFound:
        return False
    return True


def _remove_orphans(store: Store, directory: Path, older_than: float) -> None:
    """Delete files of builds that no longer exist (pruned, or left by a killed build: its ``.tmp``
    files too). Called under the build lock: no other build is writing into ``directory``."""
    from index.builds import list_builds

    keep = set()
    for build in list_builds(store):
        stem = build_stem(build)
        keep.update({Path(build.path), Path(f"{build.path}.json"), ivfdata_path(build.path), *VectorSet.files(stem)})
    for path in directory.iterdir():
        if path.name == LOCK_NAME:
            continue
        if path.is_file() and path not in keep and path.stat().st_mtime < older_than:
            logger.info("removing orphan file %s", path)
            path.unlink(missing_ok=True)
