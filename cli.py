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


# ---- model: train ------------------------------------------------------------------------


# ---- indexes and queries: index, audience, similar, profile ----------------------------------


# ---- evaluation and demo -----------------------------------------------------------------


if __name__ == "__main__":
    main()
