"""Data commands: ``datasets``, ``ingest``, ``stats``."""

from __future__ import annotations

from typing import Any

import click

from cli.app import main
from cli.common import json_option, print_json, workspace

DATASET_NAMES = ("synthetic", "movielens", "parlspeech")  # ``uue.data.DATASETS`` (imported lazily: it is heavy)


@main.command()
@click.argument("name", type=click.Choice(DATASET_NAMES), metavar="NAME")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="users.jsonl to write.")
@click.option("--statements-out", type=click.Path(dir_okay=False), default=None,
              help="Also write the dataset's statement pool (statements.jsonl).")
@click.option("--users", "n_users", type=click.IntRange(min=0), default=None,
              help="How many users (synthetic: default 1000; movielens: the first N).")
@click.option("--seed", type=int, default=None, help="Random seed (synthetic; default 0).")
@click.option("--topics", "n_topics", type=int, default=None, help="Number of topics (synthetic; default all).")
@click.option("--split", type=click.Choice(["hash", "train", "dev", "test"]), default=None,
              help="Write a split field (synthetic; default none: the store assigns it by hash).")
@click.option("--path", type=click.Path(file_okay=False), default=None,
              help="An ml-100k directory (movielens; default: the copy recbole ships).")
@click.option("--ratings-per-chunk", type=click.IntRange(min=1), default=None, help="movielens; default 10.")
@click.option("--languages", default=None,
              help="parlspeech: comma-separated of en, de, es, nl (default all; 'en' for English-only encoders).")
def datasets(name: str, out: str, statements_out: str | None, **options: Any) -> None:
    """Write dataset NAME (synthetic, movielens, parlspeech) as users.jsonl to --out.

    Example: uue datasets parlspeech --languages en --out data/mps.jsonl --statements-out data/mps-statements.jsonl
    """
    from uue.data import load_dataset, write_jsonl

    dataset = load_dataset(name, **{k: v for k, v in options.items() if v is not None})
    n = write_jsonl(dataset, out, statements_out)
    extra = f", statement pool -> {statements_out}" if statements_out else ""
    click.echo(f"wrote {n} {name} users -> {out}{extra}")


@main.command()
@click.argument("users_file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--statements", "statements_file", type=click.Path(dir_okay=False), default=None,
              help="A statement pool: .jsonl of {\"text\", \"category\"} or .txt, one per line.")
@click.option("--append", is_flag=True,
              help="Add each line's chunks, statements, traits and metadata to a stored user instead of "
                   "replacing the user (chunks already stored are skipped).")
@json_option
@click.pass_context
def ingest(ctx: click.Context, users_file: str, statements_file: str | None, append: bool, as_json: bool) -> None:
    """Ingest USERS_FILE (users.jsonl) in one transaction; a bad line writes nothing.

    A user_id already stored is replaced by its line, or with --append keeps its history
    and gets the line's new chunks (only those are embedded at the next `uue index build`).

    Example: uue ingest data/today.jsonl --append
    """
    from uue.operations import ingest as ingest_file

    with workspace(ctx).open_store() as store:
        counts = ingest_file(store, users_file, statements_file, append=append, progress=not as_json)
    if as_json:
        print_json(counts)
        return
    changed = (f"{counts.get('users_appended', 0)} appended to" if append
               else f"{counts.get('users_replaced', 0)} replaced")
    skipped = f" ({counts['chunks_already_stored']} already stored)" if counts.get("chunks_already_stored") else ""
    click.echo(f"ingested {users_file}: {counts.get('users_added', 0)} new users, {changed}, "
               f"{counts.get('chunks', 0)} chunks{skipped}, {counts.get('statements_added', 0)} new statements, "
               f"{counts.get('labels', 0)} labels")


@main.command()
@json_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """The workspace, and what is stored: users per split, chunks, platforms, statements, labels.

    Example: uue --home ~/uue stats
    """
    ws = workspace(ctx)
    with ws.open_store(create=False) as store:
        data = {"workspace": str(ws.home), "database": ws.shown_database_url(), **store.stats()}
    if as_json:
        print_json(data)
        return
    click.echo(f"workspace   {ws.describe()}")
    splits = ", ".join(f"{k} {v}" for k, v in data["splits"].items())
    click.echo(f"users       {data['users']}  ({splits})")
    click.echo(f"chunks      {data['chunks']}")
    click.echo("platforms   " + (", ".join(f"{k} {v}" for k, v in data["platforms"].items()) or "-"))
    click.echo(f"statements  {data['statements']}  ({data['held_out_statements']} held out for zero-shot)")
    click.echo(f"labels      {data['positive_labels']} positive, {data['negative_labels']} negative")
    click.echo("traits      " + (", ".join(data["traits"]) or "-"))
    click.echo("metadata    " + (", ".join(data["user_metadata_keys"]) or "-"))
    click.echo(f"models      {data['models']}")
