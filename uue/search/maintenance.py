"""``uue index verify`` and ``uue index stats``: is every stored item served exactly once?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from index import load_index
from index.base import read_sidecar
from index.builds import active_build, list_builds, verify_build
from index.files import sha256_file
from index.vectors import VectorSet, file_problems
from storage.errors import NotFound, UUEError
from storage.store import Store
from uue.search.builds import KINDS, build_stem, statement_hash


def _expected(store: Store, kind: str) -> tuple[np.ndarray, dict[int, str]]:
    if kind == "users":
        hashes = store.content_hashes()
    else:
        hashes = {i: statement_hash(t) for i, t in store.statements()}
    return np.fromiter(sorted(hashes), np.int64, len(hashes)), hashes


def verify_indexes(store: Store) -> dict[str, Any]:
    """Check both active builds: the checksums of the index file and of the vector files beside
    it, one vector per stored item and vice versa.

    Returns ``{"ok": bool, "problems": [...], "stale": {kind: n}}``; ``stale`` counts
    items whose content changed since the build (served, but by an old vector).
    """
    problems: list[str] = []
    stale: dict[str, int] = {}
    try:
        model_id: int | None = store.active_model().id
    except NotFound as exc:
        problems.append(str(exc))
        model_id = None
    for kind in KINDS:
        try:
            build = active_build(store, kind)
        except NotFound as exc:
            problems.append(str(exc))
            continue
        if model_id is not None and build.model_id != model_id:
            problems.append(f"{kind}: built with model #{build.model_id}, but the active model is #{model_id}: "
                            "run `uue index rebuild`")
        expected, hashes = _expected(store, kind)
        if not Path(build.path).exists():
            problems.append(f"{kind}: index file {build.path} is missing: run `uue index rebuild`")
            continue
        try:
            index_ids = load_index(build.path).ids()
        except UUEError as exc:
            if sha256_file(build.path) != build.checksum:
                problems.append(f"{kind}: index file {build.path} does not match its recorded checksum")
            problems.append(f"{kind}: {exc}")
            continue
        problems.extend(f"{kind}: {p}" for p in verify_build(store, build, index_ids, expected))
        file_problems_ = file_problems(build_stem(build), build.files)
        problems.extend(f"{kind}: {p}" for p in file_problems_)
        if any("no recorded checksums" not in p for p in file_problems_):
            continue  # missing or corrupt: nothing more to learn from them
        try:
            vectors = VectorSet.load(build_stem(build))
        except NotFound as exc:
            problems.append(f"{kind}: {exc}")
            continue
        if not np.array_equal(np.sort(vectors.ids), np.sort(np.asarray(index_ids, dtype=np.int64))):
            problems.append(f"{kind}: the stored vectors and the index hold different ids: run `uue index rebuild`")
        current = np.array([hashes.get(int(i), "") for i in vectors.ids], dtype=str)
        stale[kind] = int((current != vectors.hashes).sum()) if len(vectors) else 0
    try:  # optional: several vectors per user (`uue index build --interests`)
        build = active_build(store, "interests")
    except NotFound:
        build = None
    if build is not None:
        from uue.search.interest_build import verify_interests

        found, stale["interests"] = verify_interests(store, build)
        problems.extend(f"interests: {p}" for p in found)
    return {"ok": not problems, "problems": problems, "stale": stale}


def _removed_marked(path: str) -> int | None:
    """Vectors marked removed but still stored (HNSW cannot delete), from the file's sidecar
    (loading the index only for a sidecar that predates the field); ``None`` when unreadable."""
    try:
        meta = read_sidecar(path)
        if "removed_marked" in meta:
            return int(meta["removed_marked"])
        return int(load_index(path, mmap=True).stats()["removed_marked"])
    except (UUEError, TypeError, ValueError):
        return None


def index_stats(store: Store) -> dict[str, Any]:
    """The active build of each kind and the build history; ``removed_marked`` counts
    vectors marked removed but not yet compacted away (``uue index rebuild``)."""
    out: dict[str, Any] = {"active": {}, "builds": []}
    for build in list_builds(store):
        exists = Path(build.path).exists()
        row = {"id": build.id, "kind": build.kind, "factory": build.factory, "dim": build.dim,
               "count": build.count, "removed_marked": _removed_marked(build.path) if exists else None,
               "model_id": build.model_id, "active": build.active,
               "created": build.created_at.isoformat(timespec="seconds"), "path": build.path,
               "size_mb": round(Path(build.path).stat().st_size / 2**20, 2) if exists else None}
        out["builds"].append(row)
        if build.active:
            out["active"][build.kind] = row
    return out
