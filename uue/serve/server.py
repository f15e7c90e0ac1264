"""``uue serve``: the application under uvicorn, bound to loopback unless told otherwise."""

from __future__ import annotations

import ipaddress
import logging

from storage.errors import UUEError
from uue.serve.state import ServeState

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warm(state: ServeState) -> None:
    """Load the model and the active indexes now, not on the first request (a log line if it cannot)."""
    try:
        state.searcher.check_ready()
    except UUEError as exc:
        logger.warning("not ready yet (GET /ready says why until it is): %s", exc)


def run(state: ServeState, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "warning") -> None:
    """Serve until interrupted."""
    import uvicorn

    from uue.serve.app import create_app

    if not is_loopback(host):
        logger.warning("serving on %s: reachable from other machines; write endpoints %s", host,
                       "need the API key" if state.settings.api_key else "are off (no API key)")
    config = uvicorn.Config(create_app(state), host=host, port=port, log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    server.run()
