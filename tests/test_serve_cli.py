"""``uue serve`` as a user runs it (a subprocess on a free loopback port, a real tiny model),
and ``--explain`` on the CLI's audience and profile."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from cli import main
from support.served_workspace import tiny_model_workspace
from support.server import wait_ready

pytestmark = pytest.mark.filterwarnings("ignore")
KEY = "cli-test-key-0123456789"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tiny_model_workspace(tmp_path_factory.mktemp("served"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_explain(home):
    run = lambda *args: CliRunner().invoke(main, ["--home", str(home), *args])  # noqa: E731
    result = run("audience", "chess gambit rook", "-k", "2", "--explain", "--explain-top", "2", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 2 and all(len(h["explanation"]["top"]) == 2 for h in hits)
    assert all(h["explanation"]["chunks"] == 3 for h in hits)
    top = hits[0]["explanation"]["top"]
    assert top[0]["score"] >= top[1]["score"]
    text = run("audience", "chess gambit rook", "-k", "1", "--explain")
    assert text.exit_code == 0 and "  1. " in text.output and text.output.count("\n") == 4  # hit + 3 chunks
    profile = run("profile", "chess-0", "-k", "2", "--statement", "someone likes long walks", "--explain", "--json")
    assert profile.exit_code == 0, profile.output
    assert [len(h["explanation"]["top"]) for h in json.loads(profile.stdout)] == [3, 3, 3]
    plain = json.loads(run("audience", "chess gambit rook", "-k", "2", "--json").stdout)
    assert [h["user_id"] for h in plain] == [h["user_id"] for h in hits]


def test_uue_serve_answers_on_loopback(home, tmp_path):
    port = free_port()
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    env = {k: v for k, v in os.environ.items() if k not in ("UUE_API_KEY", "UUE_API_KEY_FILE")}
    process = subprocess.Popen([sys.executable, "-m", "cli", "--home", str(home), "serve", "--port", str(port),
                                "--api-key-file", str(key_file)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(process, url, time.monotonic() + 60)
        hits = httpx.get(f"{url}/audience", params={"text": "someone likes long walks", "k": 3,
                                                    "explain": "true"}).json()
        assert len(hits) == 3 and all(h["explanation"]["top"] for h in hits)
        cli = json.loads(CliRunner().invoke(main, ["--home", str(home), "audience", "someone likes long walks",
                                                   "-k", "3", "--json"]).stdout)
        assert [h["user_id"] for h in hits] == [h["user_id"] for h in cli]
        assert httpx.get(f"{url}/docs").status_code == 200
        assert httpx.post(f"{url}/users", json={"users": []}, headers={"X-API-Key": KEY}).status_code == 200
        assert httpx.post(f"{url}/users", json={"users": []}, headers={"X-API-Key": "x" * 20}).status_code == 401
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert f"on http://127.0.0.1:{port}/" in err and KEY not in err


def test_uue_serve_refuses_a_short_key(home, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("short")
    result = CliRunner().invoke(main, ["--home", str(home), "serve", "--api-key-file", str(key_file)])
    assert result.exit_code == 1 and "shorter than 16 characters" in result.output and "short\n" not in result.output
