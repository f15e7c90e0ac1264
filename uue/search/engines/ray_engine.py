"""The Ray engine: users embedded by a pool of model actors with Ray Data.

The users to embed are cut into partitions of consecutive primary keys (``USER_BATCH`` at
most, fewer when that leaves an actor idle);
``ray.data.from_items`` makes one row per partition and ``map_batches`` sends each to a
pool of model actors (``ActorPoolStrategy``): one actor per GPU when the cluster has
GPUs, else CPU actors (``workers``, default one per ``CPUS_PER_ACTOR`` CPUs). An actor
reads its partition's users from the store itself (by URL), embeds them through the same
``LazyModel`` as the local engine (the chunk-vector cache included, for locked models)
and returns ``(pk, vector)`` rows; the building process writes them into the build's
vector files and assembles the index as with the local engine.

What the workers must reach: the store (a PostgreSQL URL, or a SQLite file on a
filesystem they share), the model directory (on a remote ``ray://`` cluster without it
the driver ships the model's files through the object store) and the ``uue`` package.
The shard adds of a sharded build run as Ray tasks (``map``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from tqdm.auto import tqdm

from storage.errors import UUEError
from storage.store import Store
from uue.search.active_model import LazyModel
from uue.search.engines.base import USER_BATCH, EmbeddingEngine, partitions

logger = logging.getLogger(__name__)

CPUS_PER_ACTOR = 4  # torch threads of a CPU actor, when the actor count is not given
PARTITIONS_PER_ACTOR = 4  # a small build is still cut into this many partitions per actor
LOOPBACK = {"localhost", "127.0.0.1", "::1", ""}


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UUEError("--engine ray needs Ray: pip install 'uue[scale]' (or `make install`)") from None
    return ray


def model_files(path: str | Path) -> dict[str, bytes]:
    """Every file of a model directory by relative path: what a worker without the directory needs."""
    root = Path(path)
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


class UserEmbedder:
    """A model actor: reads partitions of users from the store and embeds them.

    ``files``: the model directory's files, used when ``path`` is not on this worker.
    """

    def __init__(self, url: str, path: str, checksum: str | None, cache_dir: str | None, threads: int,
                 files: dict[str, bytes] | None = None, trust_remote_code: bool = False,
                 precision: str | None = None) -> None:
        import tempfile

        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        if not Path(path).is_dir() and files is not None:
            local = Path(tempfile.mkdtemp(prefix="uue-model-"))
            for name, data in files.items():
                (local / name).parent.mkdir(parents=True, exist_ok=True)
                (local / name).write_bytes(data)
            path = str(local)
        self.store = Store(url)
        self.model = LazyModel(path, None, checksum, Path(cache_dir) if cache_dir else None, trust_remote_code,
                               precision)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``{"pk", "vector", "error"}``: a ``UUEError`` (weights changed, store unreachable) comes back
        as its message in ``error`` (Ray keeps only the text of a worker's exception, not its type)."""
        pks = np.concatenate([np.asarray(p, dtype=np.int64) for p in batch["pks"]])
        try:
            rows = list(self.store.iter_histories(pks.tolist()))
            vectors = self.model.encode_users([texts for _, texts in rows])
        except UUEError as exc:
            return {"pk": np.full(1, -1, np.int64), "vector": np.zeros((1, 1), np.float32),
                    "error": np.array([str(exc)])}
        found = np.fromiter((pk for pk, _ in rows), dtype=np.int64, count=len(rows))
        return {"pk": found, "vector": vectors, "error": np.full(len(found), "")}


def _remote(address: str | None) -> bool:
    """Whether ``address`` is a Ray Client address of another machine."""
    return bool(address) and address.startswith("ray://") and (urlparse(address).hostname or "") not in LOOPBACK


class RayEngine(EmbeddingEngine):
    """``address``: a Ray cluster (``ray://host:10001``, ``auto``); default ``$RAY_ADDRESS``, else a
    local cluster started for this build. ``workers``: model actors (default: one per GPU, else one
    per ``CPUS_PER_ACTOR`` CPUs)."""

    name = "ray"
    partition_size = USER_BATCH  # users per partition: one row of the dataset, one model call

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.ray = _import_ray()
        if workers is not None and workers < 1:
            raise UUEError(f"--workers must be >= 1, got {workers}")
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self._started = False
        if not self.ray.is_initialized():
            try:
                self.ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                              logging_level=logging.WARNING, configure_logging=True)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UUEError(f"cannot connect to the Ray cluster {self.address or '(local)'}: {exc}; check "
                               "--address (ray://HOST:10001, or auto for `ray start` on this machine)") from None
            self._started = True
        resources = self.ray.cluster_resources()
        self.gpus, self.cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))

    def close(self) -> None:
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
        self._started = False

    def _pool(self) -> tuple[int, dict[str, float], int]:
        """(actors, resources per actor, torch threads per actor)."""
        if self.gpus:
            return self.workers or self.gpus, {"num_gpus": 1}, 0
        actors = self.workers or max(1, self.cpus // CPUS_PER_ACTOR)
        threads = max(1, self.cpus // actors)
        # an actor reserves at most the CPUs that leave room for the others (a fraction on a small cluster)
        return actors, {"num_cpus": min(float(threads), self.cpus / actors)}, threads

    def embed_users(self, store: Store, model: LazyModel, pks: np.ndarray, out: np.ndarray, progress: bool) -> None:
        if model.handed_in:
            raise UUEError("the ray engine loads the active model from its directory in each worker: build "
                           "without a model object (or with --engine local)")
        if store.engine.dialect.name == "sqlite" and _remote(self.address):
            raise UUEError(f"the store {store.engine.url.render_as_string(hide_password=True)} is a SQLite file on "
                           f"this machine, which the workers of {self.address} cannot read: use a PostgreSQL store "
                           "(--db postgresql://...) for a remote cluster")
        from ray.data import ActorPoolStrategy, DataContext

        if not logger.isEnabledFor(logging.INFO):  # Ray Data (configured at its import) logs each run at INFO,
            logging.getLogger("ray.data").setLevel(logging.ERROR)  # and warns that its bars are off (ours count)
        DataContext.get_current().enable_progress_bars = False  # our own bar counts users
        actors, resources, threads = self._pool()
        files = model_files(model.path) if _remote(self.address) else None
        args = (store.engine.url.render_as_string(hide_password=False), str(Path(model.path).resolve()),
                model.checksum, str(model.cache_dir.resolve()) if model.cache_dir else None, threads, files,
                model.trust_remote_code, model.precision())
        # at most partition_size users per model call, and enough partitions to keep every actor busy
        parts = partitions(pks, max(1, min(self.partition_size, -(-len(pks) // (actors * PARTITIONS_PER_ACTOR)))))
        logger.info("embedding %d users in %d partitions on %d %s actor(s)", len(pks), len(parts), actors,
                    "GPU" if self.gpus else "CPU")
        dataset = self.ray.data.from_items([{"pks": p} for p in parts], override_num_blocks=len(parts))
        embedded = dataset.map_batches(UserEmbedder, batch_size=1, batch_format="numpy",
                                       fn_constructor_args=args, compute=ActorPoolStrategy(size=actors),
                                       **resources)
        position = {int(pk): i for i, pk in enumerate(pks)}
        done = 0
        with tqdm(total=len(pks), desc="embed users (ray)", unit=" users", disable=not progress) as bar:
            for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
                failed = [str(e) for e in batch["error"] if e]
                if failed:
                    raise UUEError(f"on the Ray workers: {failed[0]}")
                rows = [position[int(pk)] for pk in batch["pk"]]
                out[rows] = np.asarray(batch["vector"], dtype=np.float32)
                done += len(rows)
                bar.update(len(rows))
        if done != len(pks):
            raise UUEError(f"the Ray workers returned {done} of {len(pks)} users: users were deleted during the "
                           "build; run `uue index build` again")

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        task = self.ray.remote(fn)
        refs = [task.remote(item) for item in items]
        for ref in refs:
            yield self.ray.get(ref)
