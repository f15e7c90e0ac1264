"""``uue serve``: the HTTP API and the page (``uue.serve``)."""

from __future__ import annotations

import click

from cli.app import main
from cli.common import workspace
from storage.errors import UUEError


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback by default; 0.0.0.0 exposes the server to the network).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to bind.")
@click.option("--api-key-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="File whose first line is the write key (default: $UUE_API_KEY, else $UUE_API_KEY_FILE). "
                   "Without a key, ingest and index builds are refused.")
@click.option("--max-body-mb", type=click.FloatRange(min=0.001), default=16.0, show_default=True,
              help="Largest request body accepted (an ingest batch), in MiB.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, api_key_file: str | None, max_body_mb: float) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the page at / over one warm model.

    The active index build is picked up without a restart after `uue index build`.

    Example: UUE_API_KEY=$(cat key.txt) uue serve --port 8000
    """
    try:
        from uue.serve.server import run, warm
        from uue.serve.settings import ServeSettings, load_api_key
        from uue.serve.state import ServeState
    except ImportError as exc:
        raise UUEError(f"uue serve needs the serve extra ({exc.name} is missing): "
                       "pip install -c constraints.txt -e '.[serve]' (make install does)") from None

    settings = ServeSettings(api_key=load_api_key(api_key_file), max_body_bytes=int(max_body_mb * 2**20))
    ws = workspace(ctx)
    state = ServeState(store=ws.open_store(), indexes_dir=ws.indexes_dir, cache_dir=ws.cache_dir, settings=settings)
    warm(state)
    click.echo(f"serving {ws.home} on http://{host}:{port}/ (API docs: /docs; write endpoints "
               f"{'need the API key' if settings.api_key else 'off: no API key'}); Ctrl+C stops", err=True)
    run(state, host, port)
