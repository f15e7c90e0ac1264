"""A longer schemathesis run against `uue serve` (a subprocess, the real MiniLM model, the write key
given so ingest / delete / build are fuzzed too). The suite runs a short one (tests/test_serve_fuzz.py).

    .venv/bin/python -m benchmarks.serve_fuzz --users 2000 --max-examples 100

Workspace: prepared as `benchmarks/serve.py --users N` prepares one (synthetic users, MiniLM).
Checks: `not_a_server_error` (no 5xx) and the response schema. Writes
`benchmarks/results/schemathesis.txt` (schemathesis' summary) and `schemathesis.json`.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._common import RESULTS, write_results
from benchmarks.serve import free_port, prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import httpx

    home = Path(f"/tmp/uue-bench-fuzz-{args.users}")  # its own workspace: the fuzzer ingests and deletes
    shutil.rmtree(home, ignore_errors=True)
    prepare(home, args.users)
    key = secrets.token_urlsafe(24)
    port = free_port()
    env = {**os.environ, "UUE_API_KEY": key}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "--home", str(home), "serve", "--port", str(port)], env=env,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=60).json().get("ready"):
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        started = time.perf_counter()
        run = subprocess.run([str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
                              "--checks", "not_a_server_error,response_schema_conformance",
                              "-n", str(args.max_examples), "--seed", str(args.seed), "-w", "1", "--no-color",
                              "-H", f"X-API-Key: {key}", "--request-timeout", "60"],
                             capture_output=True, text=True, cwd=home)  # its .schemathesis cache goes there
        seconds = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(30)
    summary = run.stdout[run.stdout.find("Schemathesis v"):].replace(key, "<key>")
    cases = re.search(r"(\d+) generated, (\d+) passed", summary)
    failed = re.search(r"(\d+) failed", summary.split("SUMMARY")[-1])
    data = {"users": args.users, "max_examples": args.max_examples, "seed": args.seed, "seconds": seconds,
            "returncode": run.returncode, "generated": int(cases.group(1)) if cases else None,
            "passed": int(cases.group(2)) if cases else None, "failed": int(failed.group(1)) if failed else 0}
    header = (f"schemathesis against `uue serve` ({args.users:,} synthetic users, MiniLM), -n {args.max_examples}, "
              f"seed {args.seed}, {seconds:.0f} s: exit code {run.returncode}")
    print(header)
    print(summary[-3000:])
    write_results("schemathesis", data, header)
    (RESULTS / "schemathesis.txt").write_text(header + "\n\n" + summary)


if __name__ == "__main__":
    main()
