"""The vectors behind an index build, kept next to it as plain ``.npy`` files.

A build also records ``STEM.encoder.json``: the inference precision its vectors were
computed at (a build at another precision never reuses them) and, for statements, the
fingerprint of the statement side that embedded it, so another model with the same
statement side (a locked model and its base) reuses its vectors, in index builds and in
training.

``STEM.ids.npy`` (int64, sorted), ``STEM.vectors.npy`` (float32 [n, d], L2-normalised)
and ``STEM.hashes.npy`` (the content hash each vector was computed from). They serve
three jobs: incremental builds (reuse a vector whose content did not change), the
stored vector of a user or pool statement at query time (memory-mapped, no model
needed), and ``verify``. Loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexFileError
from index.files import atomic_write, checksum_mismatch, sha256_file
from storage import strict_json
from storage.errors import NotFound

PARTS = ("ids", "vectors", "hashes")
EXTRA_PARTS = ("calibration", "owners", "weights", "sizes", "medoids")  # statements: calibration; interests: the rest


def save_array(path: Path, array: np.ndarray) -> str:
    """Write one array as `.npy` atomically (no pickle); returns its sha256."""
    return atomic_write(path, lambda out: np.save(out, array, allow_pickle=False))[0]


def file_checksums(stem: Path, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """``{"vectors.npy": sha256, ...}`` of the files present beside a build (all of ``VectorSet.files``,
    or only ``names``)."""
    out = {}
    for path in VectorSet.files(stem):
        name = path.name[len(Path(stem).name) + 1:]
        if (names is None or name in names) and path.is_file():
            out[name] = sha256_file(path)
    return out


def file_problems(stem: Path, recorded: dict[str, str] | None) -> list[str]:
    """What is wrong with the files beside a build, against the sha256 recorded with it."""
    if not recorded:
        return [f"the vector files of {Path(stem).name} have no recorded checksums (built before they were "
                "recorded) and cannot be verified: run `uue index rebuild`"]
    problems = []
    for name, checksum in sorted(recorded.items()):
        path = Path(f"{stem}.{name}")
        if not path.is_file():
            problems.append(f"vector file {path} is missing: run `uue index rebuild`")
        elif (actual := sha256_file(path)) != checksum:
            problems.append(checksum_mismatch(path, actual, checksum).replace("index file", "vector file", 1))
    return problems


@dataclass
class VectorSet:
    ids: np.ndarray  # int64, sorted ascending
    vectors: np.ndarray  # float32 [n, d]
    hashes: np.ndarray  # str [n]

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, hashes: np.ndarray) -> VectorSet:
        order = np.argsort(ids, kind="stable")
        return cls(np.asarray(ids, dtype=np.int64)[order], np.ascontiguousarray(vectors[order], dtype=np.float32),
                   np.asarray(hashes)[order].astype(str))

    @classmethod
    def empty(cls, dim: int) -> VectorSet:
        return cls(np.zeros(0, np.int64), np.zeros((0, dim), np.float32), np.zeros(0, dtype="<U1"))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of ``ids``; -1 where absent."""
        ids = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        pos = np.minimum(pos, max(len(self.ids) - 1, 0))
        found = (len(self.ids) > 0) & (self.ids[pos] == ids) if len(self.ids) else np.zeros(len(ids), bool)
        return np.where(found, pos, -1)

    def get(self, ids: np.ndarray) -> np.ndarray:
        rows = self.rows(ids)
        if (rows < 0).any():
            missing = np.asarray(ids)[rows < 0][:5].tolist()
            raise NotFound(f"no stored vector for id(s) {missing}: run `uue index build` to embed new data")
        return np.asarray(self.vectors[rows], dtype=np.float32)

    def save(self, stem: Path) -> dict[str, str]:
        """Write the three files atomically; returns their sha256 (hashed as written) by name."""
        return {"ids.npy": save_array(Path(f"{stem}.ids.npy"), self.ids),
                "vectors.npy": save_array(Path(f"{stem}.vectors.npy"), self.vectors),
                "hashes.npy": save_array(Path(f"{stem}.hashes.npy"), self.hashes.astype(str))}

    @classmethod
    def load(cls, stem: Path, *, mmap: bool = True, checksums: dict[str, str] | None = None) -> VectorSet:
        """Read a build's vectors. With ``checksums`` (``IndexBuild.files``), every file recorded
        there must have its recorded sha256, else ``IndexFileError``: a flipped byte in a vector
        would otherwise give plausible, wrong scores."""
        if checksums is not None:
            problems = file_problems(stem, checksums)
            if problems:
                raise IndexFileError("; ".join(problems))
        mode = "r" if mmap else None
        try:
            ids = np.load(f"{stem}.ids.npy", allow_pickle=False)
            vectors = np.load(f"{stem}.vectors.npy", mmap_mode=mode, allow_pickle=False)
            hashes = np.load(f"{stem}.hashes.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise NotFound(f"the vectors of build {Path(stem).name} are missing or unreadable ({exc}); "
                           "run `uue index rebuild`") from None
        return cls(ids, vectors, hashes)

    @staticmethod
    def files(stem: Path) -> list[Path]:
        """Every file a build may keep next to its index (the statement build's calibration, the
        interest build's owner, weight, size and example of each row, too)."""
        return [*(Path(f"{stem}.{part}.npy") for part in (*PARTS, *EXTRA_PARTS)), Path(f"{stem}.encoder.json")]


def build_stem(build: Any) -> Path:
    """``indexes/users-<stamp>.faiss`` → ``indexes/users-<stamp>``: the stem of a build's vector files."""
    return Path(build.path).with_suffix("")


def statement_fingerprint_path(stem: Path) -> Path:
    return Path(f"{stem}.encoder.json")


def write_encoder_info(stem: Path, *, statement_fingerprint: str | None = None, precision: str | None = None) -> None:
    """``STEM.encoder.json``: what embedded the build's vectors (statement fingerprint, precision)."""
    info = {k: v for k, v in (("statement_fingerprint", statement_fingerprint), ("precision", precision)) if v}
    atomic_write(statement_fingerprint_path(stem), lambda out: out.write(json.dumps(info).encode()))


def write_statement_fingerprint(stem: Path, fingerprint: str) -> None:
    write_encoder_info(stem, statement_fingerprint=fingerprint)


def _encoder_info(build: Any, key: str) -> str | None:
    try:
        value = strict_json.loads(statement_fingerprint_path(build_stem(build)).read_bytes())[key]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def read_statement_fingerprint(build: Any) -> str | None:
    """The statement fingerprint recorded with a build; None for builds without one."""
    return _encoder_info(build, "statement_fingerprint")


def read_build_precision(build: Any) -> str:
    """The inference precision a build's vectors were computed at; "fp32" for builds that do not
    record one (made before precision was chosen by the machine, when fp32 was the default)."""
    return _encoder_info(build, "precision") or "fp32"
