"""An active index build loaded for queries: its index and vectors, checked against their sha256 once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from index import load_index
from index.base import VectorIndex
from index.vectors import VectorSet
from storage.tables import IndexBuild
from uue.search.builds import build_stem
from uue.search.calibration import load_stats

_VERIFIED: set[tuple] = set()  # index files whose sha256 matched their build in this process


def _file_key(build: IndexBuild) -> tuple | None:
    """Identifies a build's files (the index and the vector files beside it) as they are now:
    a rewrite in place changes the key."""
    key: list = [build.path, build.checksum]
    stem = build_stem(build)
    for path in [build.path, *(f"{stem}.{name}" for name in sorted(build.files or {}))]:
        try:
            st = os.stat(path)
        except OSError:
            return None  # the load reports the missing file
        key.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(key)


@dataclass
class LoadedBuild:
    """One build as a ``Searcher`` holds it: the index, its vectors, and for statements what queries score."""

    build: IndexBuild
    index: VectorIndex
    vectors: VectorSet
    calibration: np.ndarray | None = None  # statements: [n, 2] mean, std over users
    served: np.ndarray | None = None  # statements: the vectors queries score (open-vocabulary rows mapped)
    novel: np.ndarray | None = None  # statements: rows the model did not train on


def load_build(build: IndexBuild, kind: str, *, mmap: bool | None, verify: bool) -> LoadedBuild:
    """Load a build's index and vector files (``mmap``: see ``index.load_index``); with ``verify``,
    check them against the sha256 the build recorded, once per version of the files in this process.
    A statements build comes with its calibration statistics."""
    key = _file_key(build)
    check = verify and key not in _VERIFIED
    index = load_index(build.path, mmap=mmap, checksum=build.checksum if check else None)
    vectors = VectorSet.load(build_stem(build), checksums=build.files if check else None)
    if check and key is not None:
        _VERIFIED.add(key)
    return LoadedBuild(build, index, vectors, load_stats(build_stem(build)) if kind == "statements" else None)
