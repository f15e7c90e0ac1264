"""Serving replicas: two ``uue serve`` processes on loopback sharing one PostgreSQL store and one
indexes directory, while a third process rebuilds the indexes and clients query both.

What it proves: every answer during the rebuild comes whole from the old build or whole from
the new one (never an error, never a half-written build), both replicas serve the new build
after it is activated, and a ``DELETE /users/{id}`` on one replica is honoured by the other on
its very next query (the store's ``data_version`` is read per query, so no replica keeps a
stale deny-list).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from storage.pg_sandbox import free_port
from support.served_workspace import TOPICS, tiny_model_workspace
from support.server import wait_ready

pytestmark = pytest.mark.filterwarnings("ignore")
KEY = "replica-test-key-0123456789"
QUERY = {"text": "chess gambit rook", "k": 50}


def new_users(n: int = 6) -> list[dict]:
    words = list(TOPICS.values())
    return [{"user_id": f"late-{i}", "chunks": [{"text": f"{words[i % 3]} late {i}", "platform": "forum",
                                                  "timestamp": "2024-05-01T00:00:00Z"}]} for i in range(n)]


def uue(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--home", str(home), *args]


def environment(url: str) -> dict[str, str]:
    """The store's URL from $UUE_DATABASE_URL, as a deployment passes it: a password in a
    command line is visible to every local user (``ps``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("UUE_API_KEY", "UUE_API_KEY_FILE")}
    return {**env, "UUE_DATABASE_URL": url}


def start_replica(home: Path, url: str, key_file: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(uue(home, "serve", "--port", str(port), "--api-key-file", str(key_file)),
                               env=environment(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{port}"


def ids(response: httpx.Response) -> tuple[str, ...]:
    assert response.status_code == 200, response.text
    return tuple(h["user_id"] for h in response.json())


@pytest.fixture
def replicas(postgres, tmp_path):
    url = postgres.new_database()
    home = tiny_model_workspace(tmp_path, database_url=url)
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    started = [start_replica(home, url, key_file) for _ in range(2)]
    try:
        deadline = time.monotonic() + 90
        for process, base in started:
            wait_ready(process, base, deadline)
        yield home, url, [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            _, err = process.communicate(timeout=30)
            assert KEY not in err and postgres.password not in err


def test_replicas_switch_builds_together_and_honour_deletes_at_once(replicas):
    home, url, (a, b) = replicas
    with httpx.Client(timeout=30) as client:
        old = ids(client.get(f"{a}/audience", params=QUERY))
        assert ids(client.get(f"{b}/audience", params=QUERY)) == old and len(old) == 18

        # New users in the shared store (through replica A): not searchable until the next build.
        added = client.post(f"{a}/users", json={"users": new_users()}, headers={"X-API-Key": KEY})
        assert added.status_code == 200, added.text
        assert ids(client.get(f"{b}/audience", params=QUERY)) == old

        # A rebuild in a third process while clients query both replicas.
        answers: dict[str, list[tuple[float, float, tuple[str, ...]]]] = {a: [], b: []}  # (sent, answered, ids)
        errors: list[str] = []
        done = threading.Event()

        def hammer(base: str) -> None:
            with httpx.Client(timeout=30) as own:
                while not done.is_set():
                    sent = time.monotonic()
                    response = own.get(f"{base}/audience", params=QUERY)
                    if response.status_code != 200:
                        errors.append(f"{base}: {response.status_code} {response.text}")
                    else:
                        answers[base].append((sent, time.monotonic(), ids(response)))

        threads = [threading.Thread(target=hammer, args=(base,)) for base in (a, b, a, b)]
        for thread in threads:
            thread.start()
        try:
            build = subprocess.run(uue(home, "index", "build", "--full"), capture_output=True, text=True,
                                   env=environment(url))
            time.sleep(0.5)  # a few answers after the switch too
        finally:
            done.set()
            for thread in threads:
                thread.join(60)
        assert build.returncode == 0, build.stderr
        assert not errors, errors[:3]

        new = ids(client.get(f"{a}/audience", params=QUERY))
        assert len(new) == 24 and {f"late-{i}" for i in range(6)} <= set(new)
        assert ids(client.get(f"{b}/audience", params=QUERY)) == new
        for base in (a, b):
            got = sorted(answers[base])
            assert {answer for _, _, answer in got} <= {old, new}, "an answer from neither the old nor the new build"
            assert got and got[0][2] == old and got[-1][2] == new  # this replica served through the switch
            switched = min(answered for _, answered, answer in got if answer == new)
            late = {answer for sent, _, answer in got if sent > switched}
            assert late == {new}, "a request sent after the replica served the new build got the old one"

        # A delete on replica A: replica B's very next query leaves the user out, and still fills k.
        top = ids(client.get(f"{b}/audience", params={**QUERY, "k": 5}))
        gone = top[0]
        assert client.delete(f"{a}/users/{gone}", headers={"X-API-Key": KEY}).status_code == 200
        after = ids(client.get(f"{b}/audience", params={**QUERY, "k": 5}))
        assert after == tuple(u for u in new if u != gone)[:5]
        assert client.get(f"{b}/users/{gone}").status_code == 404
        assert client.get(f"{b}/users/{gone}/similar").status_code == 404
        similar = ids(client.get(f"{b}/users/{top[1]}/similar", params={"k": 30}))
        assert gone not in similar and len(similar) == 22  # everyone indexed but the user and the deleted one
