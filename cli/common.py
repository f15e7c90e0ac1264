"""What every command module shares: error translation, option decorators, output helpers."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import click

from storage.errors import UUEError
from uue.jsonsafe import json_safe


def translate_errors(func: Callable) -> Callable:
    """Turn domain exceptions into ``click.ClickException`` (message + exit 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UUEError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


# ``uue --help`` lists commands in the order of the work (others after, as registered).
WORKFLOW = ("datasets", "import", "ingest", "train", "index", "audience", "similar", "profile", "evaluate", "export", "serve",
            "users", "models", "stats", "demo")


class UUEGroup(click.Group):
    """A group whose every command translates domain errors; commands listed in work order."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        if ctx.parent is not None:
            return list(self.commands)  # a subgroup: in the order its module registers them
        order = {name: i for i, name in enumerate(WORKFLOW)}
        return sorted(self.commands, key=lambda name: order.get(name, len(order)))

    def command(self, *args, **kwargs):
        decorator = super().command(*args, **kwargs)
        return lambda f: decorator(translate_errors(f))

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", UUEGroup)
        return super().group(*args, **kwargs)


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(func)


def interests_option(func: Callable) -> Callable:
    """``--interests/--no-interests`` on a query: score users by their best-matching interest."""
    return click.option("--interests/--no-interests", "interests", default=None,
                        help="Score each user by their best-matching interest (the multi-interest index, "
                             "`uue index build --interests`). Default: $UUE_INTERESTS, else off.")(func)


def use_interests(flag: bool | None) -> bool:
    """``--interests`` / ``--no-interests`` as given, else ``$UUE_INTERESTS``."""
    from uue.search.interest_search import use_interests as resolve

    return resolve(flag)


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


def trust_remote_code(ctx: click.Context) -> bool:
    """Whether the person running ``uue`` passed ``--trust-remote-code``."""
    return bool(ctx.find_root().obj.get("trust_remote_code"))


def key_values(items: tuple[str, ...], option: str) -> dict[str, Any]:
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


def filter_options(func: Callable) -> Callable:
    func = click.option("--until", default=None, metavar="ISO8601",
                        help="Only users with a chunk at or before this time.")(func)
    func = click.option("--since", default=None, metavar="ISO8601",
                        help="Only users with a chunk at or after this time.")(func)
    return where_option(func)


def engine_options(func: Callable) -> Callable:
    """Where an index build runs: the engine, its cluster and workers, and sharded IVF builds."""
    func = click.option("--ondisk", is_flag=True,
                        help="IVF: merge the user index's inverted lists into an .ivfdata file beside it "
                             "(for indexes bigger than memory).")(func)
    func = click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True,
                        help="IVF: train once, add this many shards of users in parallel, merge them.")(func)
    func = click.option("--workers", type=click.IntRange(min=1), default=None,
                        help="ray: model actors (default one per GPU, else one per 4 CPUs); "
                             "local: processes adding shards (default one per CPU).")(func)
    func = click.option("--address", default=None, metavar="ADDR",
                        help="ray: the cluster, e.g. ray://HOST:10001 or auto (default $RAY_ADDRESS, "
                             "else a local cluster for this build).")(func)
    return click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                        help="Where users are embedded: this process, or a pool of model actors on Ray.")(func)


def search_params_options(func: Callable) -> Callable:
    func = click.option("--nprobe", type=int, default=None, help="IVF: inverted lists visited per query.")(func)
    func = click.option("--recall", type=float, default=None, metavar="R",
                        help="HNSW: the target recall@10 in (0, 1]; the build's calibration picks the efSearch "
                             "(instead of --ef-search).")(func)
    return click.option("--ef-search", "ef_search", type=int, default=None,
                        help="HNSW: candidate list size per query.")(func)


def search_params(nprobe: int | None, ef_search: int | None, recall: float | None = None) -> dict | None:
    params = {k: v for k, v in (("nprobe", nprobe), ("efSearch", ef_search), ("recall", recall)) if v is not None}
    return params or None


def searcher(ctx: click.Context):
    from uue.search.queries import Searcher

    return Searcher(workspace(ctx).open_store(create=False), trust_remote_code=trust_remote_code(ctx))


def print_hits(hits: list, as_json: bool, key: str, empty: str) -> None:
    from dataclasses import asdict

    if as_json:
        print_json([asdict(h) for h in hits])
        return
    if not hits:
        click.echo(empty)
    for rank, hit in enumerate(hits, start=1):
        click.echo(f"{rank:>3}. {hit.score:+.4f}  {getattr(hit, key)}")
