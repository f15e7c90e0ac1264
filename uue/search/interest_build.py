"""The ``interests`` index build: every user's interests (``uue.search.interests``), one row each.

FAISS ids must be unique per vector (``IndexIDMap2`` and the IVF direct map keep one row per
id, and reconstruct by id), so the interest index is addressed by *row* (0..n-1) and
``STEM.owners.npy`` maps each row back to its user's store id (one user, several rows);
``weights``, ``sizes`` and ``medoids`` (history position of each interest's example chunk)
sit beside it. ``hashes`` holds each row's user content hash: an unchanged user reuses their
rows in the next build, as in the users build. Built with the users and statements builds and
switched with them in one transaction (``uue index build --interests``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from index.builds import active_build
from index.errors import IndexFileError
from index.vectors import VectorSet, build_stem, read_build_precision
from storage.errors import NotFound
from storage.store import Store
from uue.search.interests import user_interests

logger = logging.getLogger(__name__)

ARRAYS = ("owners", "weights", "sizes", "medoids")
USER_BATCH = 256


@dataclass
class InterestRows:
    """The rows of an interest build: ``vectors`` (row ids, vectors, owner content hashes) and per row
    its owner's store id, weight, chunk count and example chunk."""

    vectors: VectorSet
    owners: np.ndarray
    weights: np.ndarray
    sizes: np.ndarray
    medoids: np.ndarray

    @classmethod
    def load(cls, stem: Path, *, mmap: bool = True, checksums: dict[str, str] | None = None) -> InterestRows:
        vectors = VectorSet.load(stem, mmap=mmap, checksums=checksums)
        try:
            arrays = [np.load(f"{stem}.{name}.npy", allow_pickle=False) for name in ARRAYS]
        except (OSError, ValueError) as exc:
            raise NotFound(f"the interest rows of build {Path(stem).name} are missing or unreadable ({exc}): "
                           "run `uue index rebuild --interests`") from None
        if any(len(a) != len(vectors) for a in arrays):
            raise IndexFileError(f"the interest files of {Path(stem).name} disagree in length: "
                                 "run `uue index rebuild --interests`")
        return cls(vectors, *arrays)

    def extra(self) -> dict[str, np.ndarray]:
        return {"owners": self.owners.astype(np.int64), "weights": self.weights.astype(np.float32),
                "sizes": self.sizes.astype(np.int64), "medoids": self.medoids.astype(np.int64)}


def _previous(store: Store, model_id: int, full: bool, precision: str | None = None) -> InterestRows | None:
    """The active interests build's rows when they can be reused: same model, same inference precision."""
    try:
        build = active_build(store, "interests")
    except NotFound:
        return None
    if full or build.model_id != model_id:
        return None
    then = read_build_precision(build)
    if precision is not None and precision != then:
        logger.info("the active interests build was embedded in %s, this build runs in %s: clustering every "
                    "user again", then, precision)
        return None
    try:
        return InterestRows.load(build_stem(build), checksums=build.files)
    except (NotFound, IndexFileError) as exc:
        logger.warning("the active interests build is unusable (%s); clustering every user again", exc)
        return None


def compute_rows(store: Store, lazy, users: np.ndarray, hashes: np.ndarray, dim: int, previous: InterestRows | None,
                 progress: bool) -> tuple[InterestRows, int]:
    """Every user's interest rows (reused from ``previous`` when the user's content hash is the same);
    returns the rows and how many users were clustered."""
    hash_of = dict(zip(users.tolist(), hashes.tolist()))
    parts: dict[int, tuple] = {}
    if previous is not None and len(previous.owners):
        old = previous.vectors
        same = np.array([hash_of.get(int(o)) == h for o, h in zip(previous.owners, old.hashes)], dtype=bool)
        for row in np.flatnonzero(same):
            owner = int(previous.owners[row])
            parts.setdefault(owner, ([], [], [], []))
            for target, value in zip(parts[owner], (np.asarray(old.vectors[row]), previous.weights[row],
                                                    previous.sizes[row], previous.medoids[row])):
                target.append(value)
    todo = [int(u) for u in users if int(u) not in parts]
    bar = tqdm(total=len(todo), desc="user interests", unit=" users", disable=not progress or not todo)
    batch: list[tuple[int, list[str]]] = []

    def flush() -> None:
        found = user_interests(lazy.get(), [h for _, h in batch], lazy.cache())
        for (pk, _), interests in zip(batch, found):
            parts[pk] = (list(interests.vectors), list(interests.weights), list(interests.sizes),
                         list(interests.medoids))
        bar.update(len(batch))
        batch.clear()

    for pk, texts in store.iter_histories(todo):
        batch.append((pk, texts))
        if len(batch) >= USER_BATCH:
            flush()
    if batch:
        flush()
    bar.close()
    owners, vectors, weights, sizes, medoids, row_hashes = [], [], [], [], [], []
    for pk in sorted(parts):
        vs, ws, ss, ms = parts[pk]
        owners += [pk] * len(vs)
        vectors += vs
        weights += ws
        sizes += ss
        medoids += ms
        row_hashes += [hash_of[pk]] * len(vs)
    n = len(owners)
    matrix = np.stack(vectors).astype(np.float32) if n else np.zeros((0, dim), np.float32)
    rows = InterestRows(VectorSet.build(np.arange(n, dtype=np.int64), matrix, np.array(row_hashes, dtype=str)),
                        np.array(owners, np.int64), np.array(weights, np.float32), np.array(sizes, np.int64),
                        np.array(medoids, np.int64))
    return rows, len(todo)


def build_interest_index(store: Store, lazy, directory: Path, factory: str, dim: int, model_id: int,
                         users: tuple[np.ndarray, np.ndarray], full: bool, progress: bool, written: list[Path],
                         result, write: Callable[..., int], precision: str | None = None) -> int:
    """Cluster what changed, write the interests build (inactive; the caller activates it with the others).
    ``precision``: the inference precision of this build; rows of a build at another one are not reused."""
    ids, hashes = users
    previous = _previous(store, model_id, full, precision)
    rows, clustered = compute_rows(store, lazy, ids, hashes, dim, previous, progress)
    result.factory["interests"] = factory
    result.counts["interests"] = len(rows.owners)
    result.embedded["interests"] = clustered
    result.reused["interests"] = len(ids) - clustered
    logger.info("%d interests for %d users (%d clustered, %d reused)", len(rows.owners), len(ids), clustered,
                len(ids) - clustered)
    return write("interests", factory, dim, rows.vectors, directory, model_id, store, written, extra=rows.extra(),
                 precision=precision)


def verify_interests(store: Store, build) -> tuple[list[str], int]:
    """Problems of the active interests build (ids, owners, files) and how many users changed since it."""
    from index import load_index
    from index.builds import verify_build

    problems: list[str] = []
    try:
        rows = InterestRows.load(build_stem(build), checksums=build.files)
        index_ids = load_index(build.path).ids()
    except (NotFound, IndexFileError) as exc:
        return [str(exc)], 0
    problems += verify_build(store, build, index_ids, rows.vectors.ids)
    hashes = store.content_hashes()
    strangers = np.setdiff1d(rows.owners, np.fromiter(hashes, np.int64, len(hashes)))
    if strangers.size:
        problems.append(f"{strangers.size} interest owner(s) are not in the store, e.g. {strangers[:5].tolist()}: "
                        "run `uue index rebuild`")
    current = np.array([hashes.get(int(o), "") for o in rows.owners], dtype=str)
    changed = int(len(np.unique(rows.owners[current != rows.vectors.hashes]))) if len(rows.owners) else 0
    return problems, changed
