"""The second process of a pipelined ingest (``storage.pipeline``): lines to rows.

Run as ``python -m storage.prepare`` by the ingesting process, which holds the SQLite
write transaction. It reads the job from stdin (the file, the batch size, the stored
statements and the first free ids), then reads, parses and validates the file exactly as
``storage.jsonl.read_users`` does, and writes one frame per batch to stdout: the rows of
every table, with provisional primary keys (a user the store already holds gets its
stored key in the writer). A bad line ends the stream with an ``error`` frame holding the
``path:line: ...`` message; the writer raises it and rolls back.

Frames are ``marshal`` data behind an 8-byte length: both ends are the same interpreter,
and only tuples of strings, numbers and None cross (no pickle). The pipe is the bounded
queue: a full pipe blocks this process, so memory stays flat however long the file is.
"""

from __future__ import annotations

import gc
import marshal
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from storage.errors import IngestError
from storage.jsonl import read_users
from storage.records import is_held_out
from storage.rows import Rows, batches, new_statements

_LENGTH = struct.Struct("<Q")


def write_frame(stream: BinaryIO, value: Any) -> None:
    data = marshal.dumps(value)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)


def read_frame_bytes(stream: BinaryIO) -> bytes | None:
    """The next frame's marshal data, or None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def read_frame(stream: BinaryIO) -> Any:
    """The next frame, or None at the end of the stream."""
    data = read_frame_bytes(stream)
    return None if data is None else marshal.loads(data)


def prepared_batches(path: Path, batch_size: int, statement_ids: dict[str, int], next_statement_id: int,
                     next_user_pk: int, now: str) -> Iterator[tuple]:
    """One ``("batch", lines, duplicate_lines, statement rows, user rows, chunk rows, label rows,
    trait rows, attribute rows)`` per batch of lines; ``IngestError`` on a bad line."""
    json_cache: dict[tuple, str] = {}
    for batch in batches(read_users(path), batch_size):
        latest = {record["user_id"]: record for record in batch}  # a repeated user_id: the later line wins
        statements = []
        for text in new_statements(latest.values(), statement_ids):
            statement_ids[text] = next_statement_id
            statements.append((next_statement_id, text, None, is_held_out(text)))
            next_statement_id += 1
        rows = Rows(json_cache)
        for record in latest.values():
            rows.user(next_user_pk, record, now)
            rows.children(next_user_pk, record, statement_ids)
            next_user_pk += 1
        yield ("batch", len(batch), len(batch) - len(latest), statements, rows.users, rows.chunks, rows.labels,
               rows.traits, rows.attributes)


def main() -> None:
    job = read_frame(sys.stdin.buffer)
    out = sys.stdout.buffer
    gc.disable()  # records hold no cycles (see storage.ingest.gc_paused)
    try:
        for frame in prepared_batches(Path(job["path"]), job["batch_size"], job["statement_ids"],
                                      job["next_statement_id"], job["next_user_pk"], job["now"]):
            write_frame(out, frame)
        write_frame(out, ("done",))
    except IngestError as exc:
        write_frame(out, ("error", str(exc)))
    except BrokenPipeError:  # the writer stopped reading (it failed or was interrupted): nothing to say
        return
    out.flush()


if __name__ == "__main__":
    main()
