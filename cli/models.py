"""``uue models list | activate``."""

from __future__ import annotations

import click

from cli.app import main
from cli.common import json_option, print_json, workspace


@main.group()
def models() -> None:
    """List the trained models; make an earlier one active (roll back).

    Example: uue models list
    """


@models.command("list")
@json_option
@click.pass_context
def models_list(ctx: click.Context, as_json: bool) -> None:
    """Every trained model: id, created, base model, whether active, which indexes it serves.

    Example: uue models list --json
    """
    from uue.operations import list_models

    with workspace(ctx).open_store(create=False) as store:
        rows = list_models(store)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no trained model yet: run `uue train`")
    for row in rows:
        mark = "*" if row["active"] else " "
        serving = f"serves {'+'.join(row['serving'])}" if row["serving"] else "no active index"
        missing = "" if row["on_disk"] else "  (weights missing)"
        click.echo(f"{mark} #{row['id']:<3} {row['created']}  {row['base_model']:<28} {row['embedding_dim']:>4}-d  "
                   f"{serving:<24} {row['path']}{missing}")


@models.command("activate")
@click.argument("model_id", type=int)
@json_option
@click.pass_context
def models_activate(ctx: click.Context, model_id: int, as_json: bool) -> None:
    """Make model MODEL_ID the active one, e.g. to roll back to an earlier model.

    Queries refuse indexes built with another model, so run `uue index build` next
    (unchanged users of this model are reused when its vectors are still stored).

    Example: uue models activate 3 && uue index build
    """
    from uue.operations import activate_model

    with workspace(ctx).open_store(create=False) as store:
        row = activate_model(store, model_id)
    if as_json:
        print_json(row)
        return
    click.echo(f"model #{row['id']} ({row['path']}) is active")
    if set(row["serving"]) != {"users", "statements"}:
        click.echo("queries refuse the current indexes (another model's) until you run `uue index build`", err=True)
