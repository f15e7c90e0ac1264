"""Pipelined ingest of a ``users.jsonl`` on SQLite: reading in a second process, writing here.

This process opens the one write transaction (writers' lock, data version, statement
pool, deferred indexes: ``storage.ingest.ingest_transaction``), then starts
``python -m storage.prepare``, which parses, validates and builds the rows of batch
*n + 1* while this process writes batch *n* with ``executemany``. Batches arrive in file
order. What stays here is what needs the transaction: whether a user_id is already
stored (then it keeps its primary key and its old rows are replaced, as in
``storage.ingest``) and the inserts. A bad line arrives as the reader's
``path:line: ...`` message and is raised here, which rolls the whole file back; so do an
error or an interrupt here, which also stop the reader.

Same rows, same validation and same errors as the in-process path (``storage.ingest``);
measured in ``benchmarks/ingest.py``. Small files stay in-process (starting the reader
costs about a tenth of a second), and so does every file when no core is spare.
"""

from __future__ import annotations

import logging
import marshal
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from tqdm.auto import tqdm

from storage.bulk import bulk_insert, datetime_value, new_user_ids
from storage.errors import IngestError, UUEError
from storage.ingest import CHILD_TABLES, USERS, IngestWriter, counts_of, ingest_transaction
from storage.prepare import read_frame_bytes, write_frame
from storage.records import StatementRecord
from storage.tables import Statement, User, batched, utcnow

logger = logging.getLogger(__name__)

MIN_BYTES = 16 << 20  # smaller files are ingested in-process
READER_MODULE = "storage.prepare"
STATEMENTS = Statement.__table__


PROC_STAT = "/proc/stat"
SAMPLE_S = 0.1  # how long spare_core watches the CPUs (/proc/stat counts in 10 ms ticks)


def usable_cpus() -> set[int] | None:
    """The CPUs this process may run on (its affinity: a container's cpuset), None where unknown."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def cpu_times(cpus: set[int] | None = None) -> tuple[int, int] | None:
    """``(idle, total)`` jiffies since boot of ``cpus`` (``cpuN`` lines of ``/proc/stat``; all CPUs
    when None), None where there is no such file."""
    try:
        with open(PROC_STAT, encoding="ascii") as handle:
            lines = [line.split() for line in handle if line.startswith("cpu")]
        names = {"cpu"} if cpus is None else {f"cpu{n}" for n in cpus}
        rows = [[int(x) for x in line[1:]] for line in lines if line and line[0] in names]
    except (OSError, ValueError):
        return None
    rows = [r for r in rows if len(r) >= 5]
    if not rows:
        return None
    return sum(r[3] + r[4] for r in rows), sum(sum(r[:8]) for r in rows)  # idle + iowait; guests are in user


def busy_cores(interval: float = SAMPLE_S, cpus: set[int] | None = None) -> float | None:
    """How many of ``cpus`` (all when None) other processes keep busy now: ``/proc/stat`` sampled
    while this process sleeps ``interval`` seconds; None where that cannot be read."""
    before = cpu_times(cpus)
    if before is None:
        return None
    time.sleep(interval)
    after = cpu_times(cpus)
    if after is None or after[1] <= before[1]:
        return None
    count = len(cpus) if cpus is not None else (os.cpu_count() or 1)
    return count * (1 - (after[0] - before[0]) / (after[1] - before[1]))


def spare_core() -> bool:
    """Whether a second core is free for the reader: two or more usable cores (this process's
    affinity, else the machine's), and the others' use of them now (``busy_cores``) leaves one
    for this process and one for the reader; without ``/proc/stat``, a load average below the
    number of cores minus one. On busy cores the two processes only share the same CPU time,
    and the hand-off costs ~10% more of it (``benchmarks/ingest.py``). A sample, not the load
    average where there is one: the 1-minute average still counts work that ended seconds ago
    (a file written just before its ingest), and would keep an idle machine in-process. (A CPU
    quota of a container, as opposed to its cpuset, is not seen.)"""
    cpus = usable_cpus()
    cores = len(cpus) if cpus else (os.cpu_count() or 1)
    busy = busy_cores(cpus=cpus)
    if busy is not None:
        return cores >= 2 and busy <= cores - 1.5
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return cores >= 2 and load <= cores - 1


def wanted(engine: Engine, path: Path, pipeline: bool | None) -> bool:
    """Whether to pipeline: as asked (SQLite only), else for a SQLite store, a file of
    ``MIN_BYTES`` or more and a spare core."""
    if pipeline is not None:
        return pipeline and engine.dialect.name == "sqlite"
    return (engine.dialect.name == "sqlite" and path.is_file() and path.stat().st_size >= MIN_BYTES
            and spare_core())


class _PreparedWriter(IngestWriter):
    """Writes the reader's batches of rows (provisional keys) inside the transaction."""

    def write(self, frame: tuple) -> None:
        _, _lines, duplicates, statements, users, chunks, labels, traits, attributes = frame
        self.counts["duplicate_lines"] += duplicates
        if statements:
            bulk_insert(self.conn, STATEMENTS, statements)
            self.counts["statements_added"] += len(statements)
        stored: dict[str, int] = {}
        for part in batched([row[1] for row in users]):
            stored.update(self.conn.execute(select(User.user_id, User.id).where(User.user_id.in_(part))).all())
        children = {"chunks": chunks, "labels": labels, "traits": traits, "user_attributes": attributes}
        if stored:
            users, children = self._replace(users, children, stored)
        bulk_insert(self.conn, USERS, users)
        self.counts["users_added"] += len(users)
        for table in CHILD_TABLES:
            bulk_insert(self.conn, table, children[table.name])
        self.counts["chunks"] += len(chunks)
        self.counts["labels"] += len(labels)

    def _replace(self, users: list[tuple], children: dict[str, list[tuple]],
                 stored: dict[str, int]) -> tuple[list[tuple], dict[str, list[tuple]]]:
        """Users already stored keep their primary key: their old rows go, their stored row is
        updated, and their new rows get the stored key. Returns the rows left to insert."""
        if self.indexes is not None:
            self.indexes.restore()  # the deletes below go by user_pk
        key_of = {row[0]: stored[row[1]] for row in users if row[1] in stored}
        for table in CHILD_TABLES:
            for part in batched(list(key_of.values())):
                self.conn.execute(delete(table).where(table.c.user_pk.in_(part)))
        self.conn.exec_driver_sql(
            "UPDATE users SET split = ?, metadata = ?, content_hash = ?, num_chunks = ?, updated_at = ? WHERE id = ?",
            [(split, metadata, digest, n, now, key_of[pk]) for pk, _, split, metadata, digest, n, now in users
             if pk in key_of])
        self.counts["users_replaced"] += len(key_of)
        remapped = {name: [(key_of.get(row[0], row[0]), *row[1:]) for row in rows] for name, rows in children.items()}
        return [row for row in users if row[0] not in key_of], remapped


class _Reader:
    """The ``storage.prepare`` process: started with a job, read frame by frame, always stopped.

    A thread drains its output into a queue of up to ``AHEAD`` frames, so the reader runs
    ahead while this process writes, instead of waiting on a 64 KiB pipe at every step
    (the thread waits in ``read``, without the GIL; frames are decoded here).
    """

    AHEAD = 4

    def __init__(self, job: dict) -> None:
        import storage

        package_root = str(Path(storage.__file__).resolve().parent.parent)  # the same code as this process
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                                          os.environ.get("PYTHONPATH")]))}
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-m", READER_MODULE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors, env=env)
        write_frame(self.process.stdin, job)
        self.process.stdin.close()
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=self.AHEAD)
        self.thread = threading.Thread(target=self._drain, name="uue-ingest-reader", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        data: bytes | None = b""
        while data is not None:
            try:
                data = read_frame_bytes(self.process.stdout)
            except (OSError, ValueError):  # closed under us
                data = None
            self.queue.put(data)

    def frames(self):
        while True:
            data = self.queue.get()
            frame = None if data is None else marshal.loads(data)
            if frame is None:
                self.process.wait()
                self.errors.seek(0)
                tail = self.errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
                raise UUEError(f"the ingest's reader process stopped (exit code {self.process.returncode}): "
                               f"{' / '.join(tail) or 'no message'}; nothing was written")
            if frame[0] == "done":
                return
            if frame[0] == "error":
                raise IngestError(frame[1])
            yield frame

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        while self.thread.is_alive():  # it may wait to put a frame in a full queue
            try:
                self.queue.get_nowait()
            except queue.Empty:
                pass
            self.thread.join(0.01)
        self.process.stdout.close()
        self.errors.close()


def ingest_pipelined(engine: Engine, path: Path, statements: Iterable[StatementRecord] = (), *,
                     batch_size: int = 2000, progress: bool = False) -> dict[str, int]:
    """``storage.ingest.ingest_files`` for a SQLite store, with a second process reading (see the module)."""
    with ingest_transaction(engine, statements, _PreparedWriter) as writer:
        conn = writer.conn
        first_pk = new_user_ids(conn, 1)[0]
        job = {"path": str(path), "batch_size": batch_size, "statement_ids": dict(writer.statement_ids),
               "next_statement_id": (conn.scalar(select(func.max(Statement.id))) or 0) + 1,
               "next_user_pk": first_pk, "now": datetime_value(conn, utcnow())}
        reader = _Reader(job)
        try:
            with tqdm(desc="ingest", unit=" users", disable=not progress) as bar:
                for frame in reader.frames():
                    writer.write(frame)
                    bar.update(frame[1])
        finally:
            reader.close()
    return counts_of(writer)
