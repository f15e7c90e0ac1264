"""Schemathesis fuzzes the OpenAPI of a real server (write key given, so the write endpoints
are fuzzed too): no request may get a 5xx. A short run; benchmarks/results/schemathesis.txt
records a longer one (benchmarks/serve_fuzz.sh)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.server import running_server

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


def test_fuzzing_the_openapi_finds_no_server_error(tmp_path):
    from test_serve import KEY, make_state

    state = make_state(tmp_path, api_key=KEY)
    with running_server(state) as url:
        run = subprocess.run([SCHEMATHESIS, "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
                              "--phases", "examples,fuzzing,stateful", "-n", "8", "--seed", "1", "-w", "1",
                              "-H", f"X-API-Key: {KEY}", "--request-timeout", "30", "--no-color"],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)  # its cache goes there
    state.store.close()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]
