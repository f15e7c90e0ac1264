"""``uue users show | list | delete``."""

from __future__ import annotations

import click

from cli.app import main
from cli.common import filter_options, json_option, print_json, workspace


@main.group()
def users() -> None:
    """Look at, list and delete stored users.

    Example: uue users list --where country=DE
    """


@users.command("show")
@click.argument("user_id")
@click.option("--chunks", "max_chunks", type=int, default=10, show_default=True,
              help="How many chunks to print (text output).")
@json_option
@click.pass_context
def users_show(ctx: click.Context, user_id: str, max_chunks: int, as_json: bool) -> None:
    """One user's metadata, traits, statements and chunks.

    Example: uue users show u42 --chunks 20
    """
    with workspace(ctx).open_store(create=False) as store:
        pk, record = store.get_user(user_id)
    if as_json:
        print_json({"id": pk, **record})
        return
    click.echo(f"{record['user_id']}  (id {pk}, split {record['split']}, {len(record['chunks'])} chunks)")
    if record["metadata"]:
        click.echo("metadata: " + ", ".join(f"{k}={v}" for k, v in record["metadata"].items()))
    if record["traits"]:
        click.echo("traits:   " + ", ".join(f"{k}={v:g}" for k, v in record["traits"].items()))
    for label, texts in (("statements", record["statements"]), ("not true", record["negative_statements"])):
        if texts:
            click.echo(f"{label}:")
            for text in texts:
                click.echo(f"  - {text}")
    click.echo("chunks:")
    for chunk in record["chunks"][:max_chunks]:
        where = " ".join(x for x in (chunk["timestamp"], chunk["platform"]) if x)
        text = chunk["text"] if len(chunk["text"]) <= 200 else chunk["text"][:197] + "..."
        click.echo(f"  [{where}] {text}" if where else f"  {text}")
    if len(record["chunks"]) > max_chunks:
        click.echo(f"  ... {len(record['chunks']) - max_chunks} more (--chunks N)")


@users.command("list")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most this many users.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Skip this many first.")
@json_option
@click.pass_context
def users_list(ctx: click.Context, where: tuple[str, ...], since: str | None, until: str | None, limit: int,
               offset: int, as_json: bool) -> None:
    """The stored users (id order), or those passing the filters: user_id, split, chunks, metadata.

    Example: uue users list --where country=DE --since 2024-01-01 --limit 20
    """
    from storage.filters import parse_filter
    from uue.operations import list_users

    user_filter = parse_filter(where, since, until)
    with workspace(ctx).open_store(create=False) as store:
        listing = list_users(store, user_filter, limit=limit, offset=offset)
    if as_json:
        print_json(listing)
        return
    for user in listing["users"]:
        metadata = ", ".join(f"{k}={v}" for k, v in user["metadata"].items())
        click.echo(f"{user['user_id']:<24} {user['split']:<5} {user['chunks']:>6} chunks  {metadata}".rstrip())
    shown = len(listing["users"])
    more = f" (--offset {offset + shown} for more)" if offset + shown < listing["total"] else ""
    click.echo(f"{shown} of {listing['total']} users{more}", err=True)


@users.command("delete")
@click.argument("user_ids", nargs=-1)
@click.option("--file", "id_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Also delete the users listed in this file, one user_id per line.")
@json_option
@click.pass_context
def users_delete(ctx: click.Context, user_ids: tuple[str, ...], id_file: str | None, as_json: bool) -> None:
    """Delete users: rows, chunks, labels, traits, metadata and cached chunk vectors.

    From this moment the users appear in no result (queries leave them out of the index
    built before); the next `uue index build` drops their vectors. Unknown ids are
    reported; the exit code is 1 when none of the ids was found.

    Example: uue users delete u42 u43 --file more-ids.txt
    """
    from uue.operations import delete_users, read_user_ids

    wanted = list(user_ids) + (read_user_ids(id_file) if id_file else [])
    ws = workspace(ctx)
    with ws.open_store(create=False) as store:
        summary = delete_users(store, wanted, cache_dir=ws.cache_dir)
    if as_json:
        print_json(summary)
    elif summary["deleted"]:
        click.echo(f"deleted {len(summary['deleted'])} user(s): {summary['chunks']} chunks, {summary['labels']} labels, "
                   f"{summary['cached_vectors']} cached chunk vectors; they are left out of every query now, and "
                   "the next `uue index build` drops their vectors")
    if summary["unknown"]:
        shown = ", ".join(summary["unknown"][:10]) + (" ..." if len(summary["unknown"]) > 10 else "")
        click.echo(f"not found ({len(summary['unknown'])}): {shown}", err=True)
    if not summary["deleted"]:
        ctx.exit(1)
