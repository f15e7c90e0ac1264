"""``uue import``: a platform's data export → users.jsonl (and, with --ingest, into the workspace)."""

from __future__ import annotations

import os
import tempfile

import click

from cli.app import main
from cli.common import json_option, print_json, workspace

PLATFORMS = ("reddit", "twitter", "telegram", "whatsapp", "csv")  # uue.data.importers.IMPORTERS


@main.command("import")
@click.argument("platform", type=click.Choice(PLATFORMS), metavar="PLATFORM")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="users.jsonl to write.")
@click.option("--ingest", "do_ingest", is_flag=True, help="Also ingest the users into the workspace.")
@click.option("--append", is_flag=True, help="With --ingest: add to stored users instead of replacing them.")
@click.option("--user-id", default=None, help="reddit, twitter: the account's user id (default: read from the export).")
@click.option("--user-col", default=None, help="csv: the column holding the author.")
@click.option("--text-col", default=None, help="csv: the column holding the text.")
@click.option("--time-col", default=None, help="csv: the column holding the date/time (optional).")
@click.option("--platform", "platform_name", default=None, help="csv: the platform written on each chunk (default csv).")
@click.option("--date-order", type=click.Choice(["dmy", "mdy"]), default=None,
              help="whatsapp: day or month first when the file does not tell (default dmy).")
@click.option("--tz", default=None, metavar="ZONE",
              help="The zone of times written without one (whatsapp, csv; IANA name, default UTC).")
@click.option("--window", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="telegram, whatsapp: minutes between an author's messages that still join one chunk.")
@click.option("--max-chars", type=click.IntRange(min=1), default=2000, show_default=True,
              help="telegram, whatsapp: the longest chunk of joined messages.")
@json_option
@click.pass_context
def import_(ctx: click.Context, platform: str, path: str, out: str | None, do_ingest: bool, append: bool,
            as_json: bool, **options) -> None:
    """Read PATH, a data export of PLATFORM (reddit, twitter, telegram, whatsapp, csv), into users.jsonl.

    \b
    reddit    the export folder (posts.csv, comments.csv)     one post/comment = one chunk
    twitter   the archive folder (data/tweets.js)             one tweet = one chunk
    telegram  result.json of Telegram Desktop's JSON export   messages in time windows
    whatsapp  an exported chat .txt (Android or iOS)          messages in time windows
    csv       any CSV: --user-col, --text-col [--time-col]    one row = one chunk

    One user per author; timestamps (UTC) and the platform kept on every chunk.

    Example: uue import whatsapp "WhatsApp Chat with Alice.txt" --tz Europe/Berlin --out users.jsonl --ingest
    """
    from uue.data.importers import create_importer, write_users
    from uue.operations import ingest

    if out is None and not do_ingest:
        raise click.UsageError("give --out USERS.jsonl, --ingest, or both")
    if append and not do_ingest:
        raise click.UsageError("--append applies with --ingest")
    users = create_importer(platform, **options).users(path)
    result: dict = {"platform": platform, "users": len(users), "chunks": sum(len(u["chunks"]) for u in users)}
    target = out
    if target is None:
        handle, target = tempfile.mkstemp(suffix=".jsonl", prefix="uue-import-")
        os.close(handle)
    try:
        write_users(users, target)
        if do_ingest:
            with workspace(ctx).open_store() as store:
                result["ingested"] = ingest(store, target, append=append, progress=not as_json)
    finally:
        if out is None:
            os.unlink(target)
    if out is not None:
        result["out"] = out
    if as_json:
        print_json(result)
        return
    where = f" -> {out}" if out else ""
    ingested = " (ingested)" if do_ingest else ""
    click.echo(f"{platform}: {result['users']} users, {result['chunks']} chunks{where}{ingested}")
