"""The ``uue`` command line. Thin: parse options, call the library, print results.

Domain errors (``storage.errors.UUEError`` and subclasses) become a one-line message on
stderr and exit code 1 — never a traceback for a user mistake.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from storage.errors import UUEError
from uue.jsonsafe import json_safe


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
    click.echo(json.dumps(json_safe(data), indent=2, ensure_ascii=False, default=str, allow_nan=False))


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
@click.argument("name")
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

def _key_values(items: tuple[str, ...], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON (30, 0.05, true) is taken as such."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UUEError(f"malformed {option} {item!r}: expected KEY=VALUE, e.g. {option} range_max=30")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


@main.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file of ModelConfig fields.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Number of epochs.")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Model directory (default: a new HOME/models/<timestamp>; with --resume, the checkpoint's run).")
@click.option("--resume", "resume", type=click.Path(exists=True, file_okay=False), default=None,
              help="Continue exactly from a checkpoint-epoch-N directory, with its config (only --epochs may change).")
@click.option("--base-model", default=None, help="Hugging Face model name or local directory.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Users per training step.")
@click.option("--max-users", type=click.IntRange(min=1), default=None, help="Use at most N train (and N dev) users.")
@click.option("--negatives", default=None, help="Negative sampler: random, hard, semi-hard (default: semi-hard).")
@click.option("--negative-option", "negative_options", multiple=True, metavar="KEY=VALUE",
              help="A mining option, e.g. range_max=30, relative_margin=0.05, refresh_every=epoch. Repeatable.")
@json_option
@click.pass_context
def train(ctx: click.Context, config_file: str | None, epochs: int | None, output_dir: str | None,
          resume: str | None, base_model: str | None, batch_size: int | None, max_users: int | None,
          negatives: str | None, negative_options: tuple[str, ...], as_json: bool) -> None:
    """Train the dual encoder on the ingested users; register it as the active model.

    With --resume DIR the run continues exactly with the checkpoint's own config and
    --max-users; only --epochs may change (to train longer).
    """
    from pathlib import Path

    from uue.model.config import config_from_sources
    from uue.training.checkpoint import resume_config
    from uue.training.store_run import train_from_store

    overrides = {"num_epochs": epochs, "base_model_name": base_model, "batch_size": batch_size,
                 "negatives": negatives, "sampler_options": _key_values(negative_options, "--negative-option")}
    config = resume_config(resume, config_file, overrides) if resume else config_from_sources(config_file, overrides)
    ws = workspace(ctx)
    with ws.open_store() as store:
        new_dir = None
        if output_dir is None:
            output_dir = str(Path(resume).resolve().parent) if resume else (new_dir := str(ws.new_run_dir()))
        try:
            path, metrics = train_from_store(store, config, output_dir, resume_from=resume, max_users=max_users,
                                             show_progress=not as_json, cache_dir=ws.cache_dir)
        except BaseException:
            if new_dir is not None and not any(Path(new_dir).iterdir()):
                Path(new_dir).rmdir()  # nothing trained: leave no empty run directory behind
            raise
    if as_json:
        print_json({"model": str(path), **metrics})
        return
    click.echo(f"model saved to {path} (active)")
    if not metrics.get("improved", True):
        click.echo("warning: training did not improve on the untrained encoder on the dev users; the model saved "
                   "is the untrained starting point (see training_curves.png)", err=True)
    for key, value in metrics.items():
        click.echo(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")


# ---- indexes and queries: index, audience, similar, profile ----------------------------------


def filter_options(func: Callable) -> Callable:
    func = click.option("--until", default=None, metavar="ISO8601",
                        help="Only users with a chunk at or before this time.")(func)
    func = click.option("--since", default=None, metavar="ISO8601",
                        help="Only users with a chunk at or after this time.")(func)
    return where_option(func)


def search_params_options(func: Callable) -> Callable:
    func = click.option("--nprobe", type=int, default=None, help="IVF: inverted lists visited per query.")(func)
    return click.option("--ef-search", "ef_search", type=int, default=None,
                        help="HNSW: candidate list size per query.")(func)


def _params(nprobe: int | None, ef_search: int | None) -> dict | None:
    params = {k: v for k, v in (("nprobe", nprobe), ("efSearch", ef_search)) if v is not None}
    return params or None


def _searcher(ctx: click.Context):
    from uue.search.queries import Searcher

    return Searcher(workspace(ctx).open_store())


def _print_hits(hits: list, as_json: bool, key: str, empty: str) -> None:
    from dataclasses import asdict

    if as_json:
        print_json([asdict(h) for h in hits])
        return
    if not hits:
        click.echo(empty)
    for rank, hit in enumerate(hits, start=1):
        click.echo(f"{rank:>3}. {hit.score:+.4f}  {getattr(hit, key)}")


@main.group("index")
def index_group() -> None:
    """Build, rebuild, verify and inspect the FAISS indexes."""


def _build(ctx: click.Context, factory: str | None, statement_factory: str | None, full: bool, as_json: bool) -> None:
    from uue.search.builds import build_indexes

    ws = workspace(ctx)
    with ws.open_store() as store:
        result = build_indexes(store, ws.indexes_dir, factory=factory, statement_factory=statement_factory,
                               full=full, progress=not as_json, cache_dir=ws.cache_dir)
    if as_json:
        from dataclasses import asdict

        print_json(asdict(result))
        return
    for kind in ("users", "statements"):
        click.echo(f"{kind:<10} build {result.build_ids[kind]}: {result.factory[kind]}, {result.counts[kind]} vectors "
                   f"({result.embedded[kind]} embedded, {result.reused[kind]} reused)")
    click.echo(f"active now; took {result.seconds:.1f}s")


@index_group.command("build")
@click.option("--factory", default=None, help='FAISS factory string for users: "Flat", "HNSW32", "IVF1024,PQ32"... '
              "(default: the active build's, else Flat).")
@click.option("--statement-factory", default=None, help="FAISS factory string for the statement pool (default Flat).")
@click.option("--full", is_flag=True, help="Embed everything again instead of only new or changed users.")
@json_option
@click.pass_context
def index_build(ctx: click.Context, factory: str | None, statement_factory: str | None, full: bool,
                as_json: bool) -> None:
    """Embed users and statements with the active model; write and activate both indexes."""
    _build(ctx, factory, statement_factory, full, as_json)


@index_group.command("rebuild")
@click.option("--factory", default=None, help="FAISS factory string for users (default: the active build's).")
@json_option
@click.pass_context
def index_rebuild(ctx: click.Context, factory: str | None, as_json: bool) -> None:
    """Re-embed everything into a new version; switch atomically (the old one serves until then)."""
    _build(ctx, factory, None, True, as_json)


@index_group.command("verify")
@json_option
@click.pass_context
def index_verify(ctx: click.Context, as_json: bool) -> None:
    """Check checksums, and that every stored user and statement has exactly one vector."""
    from uue.search.maintenance import verify_indexes

    with workspace(ctx).open_store() as store:
        report = verify_indexes(store)
    if as_json:
        print_json(report)
    else:
        for problem in report["problems"]:
            click.echo(f"problem: {problem}", err=True)
        for kind, n in report["stale"].items():
            if n:
                click.echo(f"{kind}: {n} changed since the build (run `uue index build`)")
        if report["ok"]:
            click.echo("ok: both indexes match the store and their checksums")
    if not report["ok"]:
        ctx.exit(1)


@index_group.command("stats")
@json_option
@click.pass_context
def index_stats_command(ctx: click.Context, as_json: bool) -> None:
    """The active builds and the build history."""
    from uue.search.maintenance import index_stats

    with workspace(ctx).open_store() as store:
        data = index_stats(store)
    if as_json:
        print_json(data)
        return
    if not data["builds"]:
        click.echo("no index built yet: run `uue index build`")
    for row in data["builds"]:
        mark = "*" if row["active"] else " "
        marked = f"  {row['removed_marked']} marked removed" if row["removed_marked"] else ""
        click.echo(f"{mark} build {row['id']:>3} {row['kind']:<10} {row['factory']:<14} {row['count']:>9} x "
                   f"{row['dim']}  model #{row['model_id']}  {row['created']}  {row['size_mb']} MB{marked}")


@main.command()
@click.argument("text")
@k_option
@filter_options
@search_params_options
@json_option
@click.pass_context
def audience(ctx: click.Context, text: str, k: int, where: tuple[str, ...], since: str | None, until: str | None,
             nprobe: int | None, ef_search: int | None, as_json: bool) -> None:
    """The users that the statement TEXT describes best."""
    from storage.filters import parse_filter

    user_filter = parse_filter(where, since, until)
    hits = _searcher(ctx).audience(text, k, user_filter, _params(nprobe, ef_search))
    _print_hits(hits, as_json, "user_id", "no users match the filter")


@main.command()
@click.argument("user_id")
@k_option
@filter_options
@search_params_options
@json_option
@click.pass_context
def similar(ctx: click.Context, user_id: str, k: int, where: tuple[str, ...], since: str | None,
            until: str | None, nprobe: int | None, ef_search: int | None, as_json: bool) -> None:
    """The users nearest to USER_ID (never USER_ID itself)."""
    from storage.filters import parse_filter

    user_filter = parse_filter(where, since, until)
    hits = _searcher(ctx).similar(user_id, k, user_filter, _params(nprobe, ef_search))
    _print_hits(hits, as_json, "user_id", "no other users match the filter")


@main.command()
@click.argument("user_id")
@k_option
@click.option("--statement", "statements", multiple=True, metavar="TEXT",
              help="Also score this free-text statement for the user. Repeatable.")
@click.option("--calibrated", is_flag=True,
              help="Rank by scores calibrated per statement (standard deviations above the typical user).")
@json_option
@click.pass_context
def profile(ctx: click.Context, user_id: str, k: int, statements: tuple[str, ...], calibrated: bool,
            as_json: bool) -> None:
    """The pool statements that describe USER_ID best (plus any --statement).

    Scores are cosine similarities. --calibrated ranks by each statement's score
    standardised over users instead (+2.0 = the statement fits this user two standard
    deviations better than it fits users in general): it demotes statements that are
    close to everyone, and also those true of everyone (see the README's results).

    Example: uue profile u42 -k 5 --statement "works night shifts"
    """
    result = _searcher(ctx).profile(user_id, k, statements, calibrated=calibrated)
    if as_json:
        print_json(result.to_json())
        return
    _print_hits(result.top, False, "statement", "the statement pool is empty")
    if result.scored:
        click.echo("asked:")
        _print_hits(result.scored, False, "statement", "")


# ---- evaluation and demo -----------------------------------------------------------------


@main.command()
@click.option("--data", type=click.Path(dir_okay=False), default=None,
              help="Evaluate on the users of this users.jsonl instead of the store's test split.")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Report directory (default: HOME/reports/<model>).")
@json_option
@click.pass_context
def evaluate(ctx: click.Context, data: str | None, output_dir: str | None, as_json: bool) -> None:
    """Evaluate the active model beside three baselines (base encoder, TF-IDF, BM25); write a report.

    Example: uue evaluate --output-dir reports/latest --json
    """
    from pathlib import Path

    from uue.jobs.pipeline import evaluate_from_store

    ws = workspace(ctx)
    with ws.open_store() as store:
        target = Path(output_dir) if output_dir else ws.reports_dir / Path(store.active_model().path).name
        results = evaluate_from_store(store, target, data=data, show_progress=not as_json, cache_dir=ws.cache_dir)
    if as_json:
        print_json(results)
        return
    names = list(results)
    click.echo(f"{'metric':<40}" + "".join(f"{n:>10}" for n in names))
    for key in results["model"]:
        click.echo(f"{key:<40}" + "".join(f"{results[n].get(key, float('nan')):>10.3f}" for n in names))
    click.echo(f"report: {target / 'report.md'}")


@main.command()
@click.option("--max-users", type=int, default=None, help="Use only this many users (a quicker look).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Training epochs (default: the training mode's, 10 locked).")
@click.pass_context
def demo(ctx: click.Context, max_users: int | None, epochs: int | None) -> None:
    """Ingest MovieLens-100k (or the synthetic set), train, build indexes, query, evaluate.

    Example: uue --home /tmp/uue-demo demo --max-users 200
    """
    from uue.jobs.pipeline import run_demo

    run_demo(workspace(ctx), max_users=max_users, epochs=epochs, say=click.echo)


if __name__ == "__main__":
    main()
