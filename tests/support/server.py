"""A real uvicorn server on a free loopback port, in a thread, for tests and benchmarks."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def running_server(state, timeout: float = 20.0) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) of ``state`` served by uvicorn."""
    import uvicorn

    from uue.serve.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(state), log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def wait_ready(process: subprocess.Popen, base: str, deadline: float) -> None:
    """Poll ``base``/ready of a ``uue serve`` subprocess until it answers ready; fail if the
    process exits (with its stderr) or ``deadline`` (``time.monotonic``) passes."""
    import httpx

    while True:
        try:
            if httpx.get(f"{base}/ready").json()["ready"]:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else "uue serve exited"
        assert time.monotonic() < deadline, f"uue serve at {base} did not become ready"
        time.sleep(0.2)
