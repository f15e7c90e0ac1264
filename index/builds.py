"""Versioned index builds in the store (table ``index_builds``).

Each build is one immutable index file; the ``active`` flag is the pointer that
queries follow. A new build is recorded inactive, then ``activate_builds`` switches the
pointers of every kind it covers in one transaction: readers see the old builds or the
new ones, never a mix. ``prune_builds`` deletes old inactive builds (rows and files).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select, update

from index.base import ivfdata_path, sidecar_path
from index.files import checksum_mismatch, sha256_file
from storage import strict_json
from storage.errors import NotFound, UUEError
from storage.store import Store
from storage.tables import IndexBuild

logger = logging.getLogger(__name__)

KINDS = ("users", "statements", "interests")  # interests: optional, several vectors per user (row ids)
EXAMPLES = 5  # ids quoted per problem


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UUEError(f"unknown index kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def build_path(indexes_dir: str | os.PathLike, kind: str, model_id: int) -> Path:
    """A fresh, unique file name for a build: ``<dir>/<kind>-m<model>-<UTC time>.faiss``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return Path(indexes_dir) / f"{_check_kind(kind)}-m{model_id}-{stamp}.faiss"


def record_build(store: Store, *, model_id: int, kind: str, factory: str, dim: int, count: int,
                 path: str | os.PathLike, checksum: str, files: dict[str, str] | None = None) -> int:
    """Record a saved index file as a new, inactive build; returns its id. ``files``: the sha256
    of each file kept beside it (``index.vectors.file_checksums``), verified like the index's."""
    row = IndexBuild(model_id=model_id, kind=_check_kind(kind), factory=factory, dim=int(dim), count=int(count),
                     path=os.fspath(path), checksum=checksum, files=files, active=False)
    with store.session() as s:
        s.add(row)
        s.flush()
        build_id = row.id
    logger.info("recorded %s build %d (%s, %d vectors) at %s", kind, build_id, factory, count, path)
    return build_id


def activate_builds(store: Store, build_ids: Iterable[int], retire: Iterable[str] = ()) -> None:
    """Make these builds the active ones of their kinds, in one transaction; no build of the
    kinds in ``retire`` stays active (e.g. interests left out of a build: they would be stale)."""
    wanted = [int(b) for b in build_ids]
    retired = [_check_kind(k) for k in retire]
    with store.session() as s:
        rows = list(s.scalars(select(IndexBuild).where(IndexBuild.id.in_(wanted))))
        missing = set(wanted) - {r.id for r in rows}
        if missing:
            raise NotFound(f"unknown index build(s): {', '.join(map(str, sorted(missing)))}")
        kinds = Counter(r.kind for r in rows)
        twice = [k for k, n in kinds.items() if n > 1]
        if twice:
            raise UUEError(f"cannot activate two builds of the same kind at once: {', '.join(twice)}")
        s.execute(update(IndexBuild).where(IndexBuild.kind.in_([*kinds, *retired])).values(active=False))
        s.execute(update(IndexBuild).where(IndexBuild.id.in_(wanted)).values(active=True))
    logger.info("activated index build(s) %s", ", ".join(map(str, wanted)))


def active_build(store: Store, kind: str) -> IndexBuild:
    """The build that serves queries for ``kind`` (``NotFound`` before the first build)."""
    with store.session() as s:
        row = s.scalar(select(IndexBuild).where(IndexBuild.kind == _check_kind(kind), IndexBuild.active.is_(True))
                       .order_by(IndexBuild.id.desc()).limit(1))
    if row is None:
        raise NotFound(f"no {kind} index built yet: run `uue index build{' --interests' if kind == 'interests' else ''}`")
    return row


def list_builds(store: Store, kind: str | None = None) -> list[IndexBuild]:
    """All builds, newest first (optionally of one kind)."""
    stmt = select(IndexBuild).order_by(IndexBuild.id.desc())
    if kind is not None:
        stmt = stmt.where(IndexBuild.kind == _check_kind(kind))
    with store.session() as s:
        return list(s.scalars(stmt))


def prune_builds(store: Store, keep: int = 2) -> list[IndexBuild]:
    """Delete all but the ``keep`` newest builds of each kind, never an active one.

    Rows go first (in one transaction), then their files and sidecars; returns the
    pruned builds.
    """
    if keep < 1:
        raise UUEError(f"keep must be >= 1, got {keep}")
    with store.session() as s:
        doomed: list[IndexBuild] = []
        for kind in KINDS:
            rows = list(s.scalars(select(IndexBuild).where(IndexBuild.kind == kind).order_by(IndexBuild.id.desc())))
            doomed.extend(r for r in rows[keep:] if not r.active)
        if doomed:
            s.execute(delete(IndexBuild).where(IndexBuild.id.in_([r.id for r in doomed])))
    live_paths = {b.path for b in list_builds(store)}
    for row in doomed:
        if row.path in live_paths:  # another build row still points at this file
            continue
        for path in (Path(row.path), sidecar_path(row.path), ivfdata_path(row.path)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.warning("could not delete %s: %s", path, exc)
        logger.info("pruned %s build %d (%s)", row.kind, row.id, row.path)
    return doomed


def _ivfdata_problems(path: Path) -> list[str]:
    """The on-disk inverted lists of a sharded build (``index.sharded``): present, the recorded sha256."""
    try:  # the sidecar as written (its size check against a changed index file is the checksum's problem)
        recorded = strict_json.loads(sidecar_path(path).read_bytes()).get("ivfdata")
    except (OSError, ValueError, AttributeError):
        return []
    if not recorded:
        return []
    lists = Path(recorded["path"])
    if not lists.is_file():
        return [f"inverted lists file {lists} of {path.name} is missing: run `uue index rebuild`"]
    actual = sha256_file(lists)
    if actual != recorded["sha256"]:
        return [f"inverted lists file {lists} checksum {actual[:12]}… does not match the recorded "
                f"{recorded['sha256'][:12]}… (file changed or corrupt): run `uue index rebuild`"]
    return []


def verify_build(store: Store, build: IndexBuild, index_ids: Iterable[int] | np.ndarray,
                 expected_ids: Iterable[int] | np.ndarray) -> list[str]:
    """Problems with a build: file missing or changed (checksum), count mismatch, ids
    missing from the index, ids the store does not have, duplicated ids. Empty = healthy.

    ``index_ids``: the ids the loaded index holds (``VectorIndex.ids()``, or every
    occurrence when duplicates are to be found); ``expected_ids``: the store's ids.
    """
    problems: list[str] = []
    with store.session() as s:
        row = s.get(IndexBuild, build.id)
    if row is None:
        return [f"index build {build.id} is not in the store"]
    path = Path(row.path)
    if not path.is_file():
        problems.append(f"index file {path} is missing: run `uue index rebuild`")
    else:
        actual = sha256_file(path)
        if actual != row.checksum:
            problems.append(checksum_mismatch(path, actual, row.checksum))
        problems.extend(_ivfdata_problems(path))
    have = np.asarray(list(index_ids) if not isinstance(index_ids, np.ndarray) else index_ids, dtype=np.int64)
    want = np.asarray(list(expected_ids) if not isinstance(expected_ids, np.ndarray) else expected_ids, dtype=np.int64)
    uniq, counts = np.unique(have, return_counts=True)
    dups = uniq[counts > 1]
    if dups.size:
        problems.append(f"{dups.size} id(s) occur more than once in the index, e.g. {dups[:EXAMPLES].tolist()}")
    missing = np.setdiff1d(want, uniq)
    if missing.size:
        problems.append(f"{missing.size} {row.kind} have no vector in the index, e.g. {missing[:EXAMPLES].tolist()}: "
                        "run `uue index build` to add them")
    extra = np.setdiff1d(uniq, want)
    if extra.size:
        problems.append(f"{extra.size} vector(s) in the index have no row in the store, e.g. "
                        f"{extra[:EXAMPLES].tolist()}: run `uue index rebuild`")
    if uniq.size != row.count:
        problems.append(f"the index holds {uniq.size} ids but build {row.id} recorded {row.count}")
    return problems
