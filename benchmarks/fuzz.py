"""Fuzz the readers of untrusted input: ≥ 100,000 mutated cases, 0 crashes expected.

Targets (each case: one input, one call):

- ``line``: a users.jsonl line → ``storage.strict_json.loads`` + ``validate_user``. Passes if
  it returns a record that strict JSON and UTF-8 can hold, or raises the project's
  ``StrictJSONError`` / ``InvalidRecord``. Anything else is a crash (a record with a value
  the store cannot hold counts as one too).
- ``filter``: ``--where`` / ``--since`` / ``--until`` strings → ``parse_filter`` and, for
  every 10th case, ``resolve_filter`` on a small store: a result or ``UUEError``.
- ``sidecar``: the bytes of an index sidecar → ``read_sidecar`` + ``load_index``: a loaded
  index or ``UUEError``.
- ``ingest``: a file of good lines with one mutated line → ``Store.ingest_file``: either
  ingested, or ``IngestError`` and the store exactly as before (row counts and data version).

Inputs are seeded mutations of valid ones: values swapped for the edges the attack of issue
13 found (calendar-edge timestamps with offsets, lone surrogates, 400- and 5,000-digit
integers, NaN / Infinity, deep nesting, duplicate keys, wrong types) and text edits (cuts,
splices, random characters). The peer, in the same run: the same line cases through the
standard library's ``json.loads`` and the same validator (the parser before issue 13),
counting its crashes and the non-JSON values it lets into a record.

    python -m benchmarks.fuzz --cases 100000 --seed 0

Results: ``benchmarks/results/fuzz.{json,md}``; exit code 1 when anything crashed.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import markdown_table, write_results
from index import create_index, load_index
from index.base import read_sidecar, sidecar_path
from storage import strict_json
from storage.errors import IngestError, UUEError
from storage.filters import parse_filter, resolve_filter
from storage.records import InvalidRecord, validate_user
from storage.store import Store

EDGES: list[str] = [  # raw JSON text of edge values
    '"0001-01-01T00:00:00+01:00"', '"9999-12-31T23:59:59-01:00"', '"2024-02-30T00:00:00Z"', '"20240501"',
    '"\\ud800"', '"a\\udfffb"', '"\\ud83d\\ude00"', '"cafe\\u0301"', '"\\u0000"', '""', '"   "',
    "9" * 400, "-" + "9" * 5000, str(2**63), str(2**63 - 1), "1e400", "-1e999", "1e-400", "0.1",
    "NaN", "Infinity", "-Infinity", "true", "false", "null", "[]", "{}", '[{"text": "x"}]', '{"a": {"b": 1}}',
    "[" * 3000 + "]" * 3000, '{"k": 1, "k": 2}', '"train"', '"validation"',
]
TEXT_BITS = ["", '"', "{", "}", "[", "]", ",", ":", "\\", "\\u", "\\ud800", "NaN", "1e999", "\x00", "\ufeff",
             "\u2028", "é", "\U0001F600", "\ud800", "\n"]


def seed_user(rng: random.Random, i: int) -> dict[str, Any]:
    return {"user_id": f"u{i}", "chunks": [{"text": f"post {j} about hiking", "platform": "reddit",
                                            "timestamp": f"2024-05-0{1 + j}T12:00:00Z",
                                            "metadata": {"subreddit": "hiking", "score": j}}
                                           for j in range(rng.randint(1, 3))],
            "statements": ["enjoys hiking"], "traits": {"openness": 0.5}, "metadata": {"country": "DE"}}


def _slots(obj: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every value (and of every object, for adding a key) in a JSON structure."""
    out = [path]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.extend(_slots(value, (*path, key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(_slots(value, (*path, i)))
    return out


def _set(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return obj


def mutate_json(rng: random.Random, obj: Any) -> str:
    """``obj`` with 1-3 values replaced by edge values (or keys added), as JSON text."""
    obj = json.loads(json.dumps(obj))
    placeholders: dict[str, str] = {}
    for n in range(rng.randint(1, 3)):
        token = f"@@edge{n}@@"
        placeholders[json.dumps(token)] = rng.choice(EDGES)
        path = rng.choice(_slots(obj))
        target = obj
        for key in path:
            target = target[key]
        if isinstance(target, dict) and rng.random() < 0.3:
            target[rng.choice(["extra", "text", "metadata", "\\ud800", ""])] = token
        else:
            obj = _set(obj, path, token)
    text = json.dumps(obj)
    for placeholder, raw in placeholders.items():
        text = text.replace(placeholder, raw)
    return text


def mutate_text(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.randint(0, 8))
        bit = rng.choice(TEXT_BITS) if rng.random() < 0.7 else chr(rng.randrange(0x110000))
        text = text[:start] + bit + text[end:]
    return text


def line_case(rng: random.Random, i: int) -> str:
    text = mutate_json(rng, seed_user(rng, i))
    return mutate_text(rng, text) if rng.random() < 0.35 else text


def check_line(line: str, loads) -> str:
    """``accepted`` / ``refused`` / ``poisoned`` (accepted, but not storable as strict JSON and UTF-8);
    raises on a crash (any other exception)."""
    try:
        record = validate_user(loads(line))
    except (strict_json.StrictJSONError, InvalidRecord):
        return "refused"
    try:
        strict_json.dumps(record, ensure_ascii=False).encode("utf-8")
    except (strict_json.StrictJSONError, UnicodeEncodeError):
        return "poisoned"
    return "accepted"


def stdlib_loads(line: str):
    """The parser before issue 13: ``json.loads``, invalid JSON refused as a line error."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise strict_json.StrictJSONError(str(exc)) from None


def filter_case(rng: random.Random) -> tuple[list[str], str | None, str | None]:
    def text() -> str:
        return mutate_text(rng, rng.choice(["country", "subreddit", "score", "platform", "split", "k\"ey", ""]))

    where = [f"{text()}={mutate_text(rng, rng.choice(['DE', 'hiking', '1', 'true', '']))}" if rng.random() < 0.8
             else text() for _ in range(rng.randint(0, 3))]
    stamp = lambda: rng.choice([None, "2024-05-01", "2024-05-01T12:00:00+01:00", mutate_text(rng, "2024-05-01")])  # noqa: E731
    return where, stamp(), stamp()


SIDECAR = {"backend": "faiss", "factory": "Flat", "dim": 4, "metric": "ip", "layout": "idmap2", "count": 3}


def sidecar_case(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    text = mutate_json(rng, SIDECAR) if kind < 0.8 else mutate_text(rng, json.dumps(SIDECAR))
    return text.encode("utf-8", "surrogatepass")


class Fuzzer:
    def __init__(self, workdir: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.outcomes: dict[str, Counter] = {}
        self.seconds: Counter = Counter()
        self.crashes: list[dict[str, str]] = []
        self.store = Store(f"sqlite:///{workdir / 'uue.db'}")
        good = workdir / "good.jsonl"
        good.write_text("".join(json.dumps(seed_user(self.rng, i)) + "\n" for i in range(20)))
        self.store.ingest_file(good)
        self.workdir = workdir
        self.index_path = workdir / "users.faiss"
        index = create_index("Flat", 4)
        index.add(np.arange(3), np.eye(3, 4, dtype=np.float32))
        index.save(self.index_path)

    def run(self, target: str, case: Any, call) -> None:
        started = time.perf_counter()
        try:
            outcome = call(case)
        except Exception as exc:  # noqa: BLE001 - a crash is exactly what is being counted
            outcome = "crash"
            if len(self.crashes) < 20:
                self.crashes.append({"target": target, "input": repr(case)[:500], "error": repr(exc),
                                     "traceback": traceback.format_exc()[-1500:]})
        self.seconds[target] += time.perf_counter() - started
        if outcome == "poisoned":  # accepted a value the store cannot hold: as bad as a crash
            self.crashes.append({"target": target, "input": repr(case)[:500], "error": "poisoned record"})
            outcome = "crash"
        self.outcomes.setdefault(target, Counter())[outcome] += 1

    def filter(self, case, resolve: bool) -> str:
        where, since, until = case
        try:
            parsed = parse_filter(where, since, until)
            if resolve:
                resolve_filter(self.store, parsed)
        except UUEError:
            return "refused"
        return "accepted"

    def sidecar(self, data: bytes) -> str:
        sidecar_path(self.index_path).write_bytes(data)
        try:
            read_sidecar(self.index_path)
            load_index(self.index_path)
        except UUEError:
            return "refused"
        return "accepted"

    def ingest(self, line: str) -> str:
        path = self.workdir / "case.jsonl"
        lines = [json.dumps(seed_user(self.rng, 1000 + i)) for i in range(3)]
        lines.insert(self.rng.randrange(4), line.replace("\n", " "))
        path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
        before = (self.store.stats(), self.store.data_version())
        try:
            self.store.ingest_file(path)
        except IngestError:
            if (self.store.stats(), self.store.data_version()) != before:
                raise AssertionError("a failed ingest changed the store") from None
            return "refused"
        return "accepted"


def run(cases: int, seed: int, tmp: str | None = None) -> tuple[Fuzzer, Counter, float, float]:
    """Fuzz ``cases`` inputs; returns the fuzzer (outcomes, seconds, crashes), the peer's outcomes,
    the peer's seconds and the total seconds."""
    share = {"line": 0.55, "filter": 0.2, "sidecar": 0.2, "ingest": 0.05}
    counts = {t: max(1, int(cases * f)) for t, f in share.items()}
    counts["line"] += cases - sum(counts.values())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="uue-fuzz-", dir=tmp) as workdir:
        fuzz = Fuzzer(Path(workdir), seed)
        peer: Counter = Counter()
        peer_seconds = 0.0
        for i in range(counts["line"]):
            line = line_case(fuzz.rng, i)
            fuzz.run("line", line, lambda c: check_line(c, strict_json.loads))
            t = time.perf_counter()
            try:
                peer[check_line(line, stdlib_loads)] += 1
            except Exception:  # noqa: BLE001 - the peer's crashes and poisoned records are counted
                peer["crash"] += 1
            peer_seconds += time.perf_counter() - t
        for i in range(counts["filter"]):
            fuzz.run("filter", filter_case(fuzz.rng), lambda c, r=(i % 10 == 0): fuzz.filter(c, r))
        for _ in range(counts["sidecar"]):
            fuzz.run("sidecar", sidecar_case(fuzz.rng), fuzz.sidecar)
        for i in range(counts["ingest"]):
            fuzz.run("ingest", line_case(fuzz.rng, i), fuzz.ingest)
        fuzz.store.close()
    return fuzz, peer, peer_seconds, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="total cases (split over the targets)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tmp", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where the scratch store and index live (default: /dev/shm, in memory, when present)")
    args = parser.parse_args()
    fuzz, peer, peer_seconds, total = run(args.cases, args.seed, args.tmp)
    rows = [[t, sum(c.values()), c["accepted"], c["refused"], c["crash"], round(fuzz.seconds[t], 1)]
            for t, c in fuzz.outcomes.items()]
    crashes = sum(c["crash"] for c in fuzz.outcomes.values())
    cases = sum(sum(c.values()) for c in fuzz.outcomes.values())
    rows.append(["all", cases, sum(c["accepted"] for c in fuzz.outcomes.values()),
                 sum(c["refused"] for c in fuzz.outcomes.values()), crashes, round(total, 1)])
    rows.append(["peer: line via json.loads", sum(peer.values()), peer["accepted"], peer["refused"],
                 peer["crash"] + peer["poisoned"], round(peer_seconds, 1)])
    command = f"python -m benchmarks.fuzz --cases {args.cases} --seed {args.seed}"
    table = markdown_table(["target", "cases", "accepted", "refused", "crashes", "seconds"], rows)
    table = (f"{table}\n\n{crashes} crashes in {cases:,} cases ({total:.0f} s, one process). Peer: the same "
             f"{sum(peer.values()):,} lines through the standard library's json.loads and the same validator: "
             f"{peer['crash']:,} crashes (tracebacks) and {peer['poisoned']:,} records accepted with values the "
             f"store cannot hold (NaN, Infinity, lone surrogates).\n\n`{command}`")
    print(table)
    write_results("fuzz", {"command": command, "cases": cases, "crashes": crashes, "seconds": round(total, 1),
                           "targets": {t: dict(c) for t, c in fuzz.outcomes.items()},
                           "peer_stdlib_json": dict(peer), "first_crashes": fuzz.crashes}, table)
    if crashes:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
