"""Per-statement calibration: a statement's score for a user, in standard deviations above
the typical user.

Raw cosines do not answer "which statements describe this user": some statements are
close to every user (common traits, generic wording), so a raw ranking lists the common
ones first. Standardising each statement's score by its mean and standard deviation over
users (no labels needed) turns it into "how unusually well does this statement fit this
user" — a score people can read (+2.1 = 2.1 standard deviations above the typical user).
For one statement the order of users does not change, so audiences are unaffected.

The statistics are computed at index build over a fixed, evenly spread sample of at most
``CALIBRATION_USERS`` user vectors and stored next to the statement build
(``STEM.calibration.npy``: float32 ``[n, 2]`` = mean, std, in the build's id order);
free-text statements are calibrated against the same sample at query time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.files import atomic_write

CALIBRATION_USERS = 2048
MIN_STD = 1e-6


def calibration_path(stem: Path) -> Path:
    return Path(f"{stem}.calibration.npy")


def user_sample(user_vectors: np.ndarray, size: int = CALIBRATION_USERS) -> np.ndarray:
    """At most ``size`` rows of ``user_vectors``, evenly spread (deterministic)."""
    n = len(user_vectors)
    rows = np.unique(np.linspace(0, n - 1, min(n, size)).round().astype(np.int64)) if n else np.zeros(0, np.int64)
    return np.asarray(user_vectors[rows], dtype=np.float32)


def statement_stats(statement_vectors: np.ndarray, sample: np.ndarray, block: int = 8192) -> np.ndarray:
    """float32 ``[n, 2]``: each statement's mean and standard deviation of scores over ``sample``."""
    out = np.zeros((len(statement_vectors), 2), dtype=np.float32)
    out[:, 1] = 1.0
    if len(sample) < 2:
        return out
    for start in range(0, len(statement_vectors), block):
        scores = np.asarray(statement_vectors[start:start + block], dtype=np.float32) @ sample.T  # [b, users]
        out[start:start + len(scores), 0] = scores.mean(1)
        out[start:start + len(scores), 1] = np.maximum(scores.std(1), MIN_STD)
    return out


def calibrate(raw: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """``(raw - mean) / std`` per statement; ``raw`` is ``[..., n]`` against ``stats[n, 2]``."""
    return (raw - stats[:, 0]) / stats[:, 1]


def save_stats(stem: Path, stats: np.ndarray) -> Path:
    path = calibration_path(stem)
    atomic_write(path, lambda out: np.save(out, np.asarray(stats, dtype=np.float32), allow_pickle=False))
    return path


def load_stats(stem: Path) -> np.ndarray | None:
    path = calibration_path(stem)
    if not path.is_file():
        return None  # a build from before calibration: profiles fall back to raw scores
    return np.load(path, allow_pickle=False)
