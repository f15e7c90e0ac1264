"""The ``uue`` command line. Thin: parse options, call the library, print results.

Domain errors (``storage.errors.UUEError`` and subclasses) become a one-line message on
stderr and exit code 1 — never a traceback for a user mistake.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from typing import Any, Callable

import click

from storage.errors import UUEError


def _translate_errors(func: Callable) -> Callable:
    """Turn domain exceptions into ``click.ClickException`` (message + exit 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UUEError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


class UUEGroup(click.Group):
    """A group whose every command translates domain errors."""

    def command(self, *args, **kwargs):
        decorator = super().command(*args, **kwargs)
        return lambda f: decorator(_translate_errors(f))

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", UUEGroup)
        return super().group(*args, **kwargs)


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(func)


def k_option(func: Callable) -> Callable:
    return click.option("-k", "k", type=int, default=10, show_default=True, help="Number of results.")(func)


def where_option(func: Callable) -> Callable:
    return click.option("--where", "where", multiple=True, metavar="KEY=VALUE",
                        help="Filter users: platform=, a user metadata key, or a chunk metadata key. Repeatable (AND).")(func)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def workspace(ctx: click.Context):
    """The resolved ``Workspace`` of this invocation."""
    from uue.workspace import Workspace

    return Workspace.resolve(ctx.obj["home"], ctx.obj["db"])


@click.group(cls=UUEGroup)
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="Workspace directory (default: $UUE_HOME, else ./.uue).")
@click.option("--db", default=None, metavar="URL",
              help="SQLAlchemy database URL (default: $UUE_DATABASE_URL, else HOME/uue.db).")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="uue")
@click.pass_context
def main(ctx: click.Context, home: str | None, db: str | None, verbose: int) -> None:
    """UUE — Universal User Embeddings: users and statements in one vector space."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.ensure_object(dict)
    ctx.obj.update(home=home, db=db)


# ---- data: ingest, stats, users, datasets ------------------------------------------------


@main.command()
@click.argument("users_file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--statements", "statements_file", type=click.Path(dir_okay=False), default=None,
              help="A statement pool: .jsonl of {\"text\", \"category\"} or .txt, one per line.")
@json_option
@click.pass_context
def ingest(ctx: click.Context, users_file: str, statements_file: str | None, as_json: bool) -> None:
    """Ingest USERS_FILE (users.jsonl) in one transaction; a bad line writes nothing."""
    with workspace(ctx).open_store() as store:
        counts = store.ingest_file(users_file, statements_file, progress=not as_json)
    if as_json:
        print_json(counts)
        return
    click.echo(f"ingested {users_file}: {counts.get('users_added', 0)} new users, "
               f"{counts.get('users_replaced', 0)} replaced, {counts.get('chunks', 0)} chunks, "
               f"{counts.get('statements_added', 0)} new statements, {counts.get('labels', 0)} labels")


@main.command()
@json_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """What is stored: users per split, chunks, platforms, statements, labels."""
    with workspace(ctx).open_store() as store:
        data = store.stats()
    if as_json:
        print_json(data)
        return
    splits = ", ".join(f"{k} {v}" for k, v in data["splits"].items())
    click.echo(f"users       {data['users']}  ({splits})")
    click.echo(f"chunks      {data['chunks']}")
    click.echo("platforms   " + (", ".join(f"{k} {v}" for k, v in data["platforms"].items()) or "-"))
    click.echo(f"statements  {data['statements']}  ({data['held_out_statements']} held out for zero-shot)")
    click.echo(f"labels      {data['positive_labels']} positive, {data['negative_labels']} negative")
    click.echo("traits      " + (", ".join(data["traits"]) or "-"))
    click.echo("metadata    " + (", ".join(data["user_metadata_keys"]) or "-"))
    click.echo(f"models      {data['models']}")


@main.group()
def users() -> None:
    """Look at stored users."""


@users.command("show")
@click.argument("user_id")
@click.option("--chunks", "max_chunks", type=int, default=10, show_default=True,
              help="How many chunks to print (text output).")
@json_option
@click.pass_context
def users_show(ctx: click.Context, user_id: str, max_chunks: int, as_json: bool) -> None:
    """One user's metadata, traits, statements and chunks."""
    with workspace(ctx).open_store() as store:
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


# ---- model: train ------------------------------------------------------------------------


# ---- indexes and queries: index, audience, similar, profile ----------------------------------


# ---- evaluation and demo -----------------------------------------------------------------


if __name__ == "__main__":
    main()
