"""One index build at a time per workspace: an exclusive lock on ``indexes/.build.lock``.

The lock is the kernel's (``flock``), not the file's existence: it is released when its
holder exits, however it exits, so a lock left by a killed or crashed build is never
stale; the file only records who holds it (pid, host, start time) for the message a
second build prints after waiting ``timeout`` seconds.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path

from storage.failures import WorkspaceBusy, translated_writes

logger = logging.getLogger(__name__)

LOCK_NAME = ".build.lock"
POLL = 0.05


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f" (pid {int(info['pid'])} on {info['host']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


class BuildLock:
    """``with BuildLock(indexes_dir, timeout):`` holds the workspace's build lock, or raises
    ``WorkspaceBusy`` after waiting ``timeout`` seconds for another build to finish."""

    def __init__(self, directory: str | os.PathLike, timeout: float) -> None:
        self.path = Path(directory) / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        with translated_writes(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    os.close(fd)
                    raise WorkspaceBusy(
                        f"another index build{holder} is running on this workspace and held its lock "
                        f"{self.path} for over {self.timeout:g} s; the active build keeps serving. Run this "
                        "again when it has finished (set $UUE_BUSY_TIMEOUT=SECONDS to wait longer)") from None
                time.sleep(POLL)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        logger.debug("took the build lock %s", self.path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing the descriptor releases the flock
                self._fd = None
