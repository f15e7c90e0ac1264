"""Index and query commands: ``index build|rebuild|verify|stats``, ``audience``, ``similar``, ``profile``
(``--explain``: the chunks that matched, ``uue.search.explain``)."""

from __future__ import annotations

from typing import Any

import click

from cli.app import main
from cli.common import (
    engine_options,
    filter_options,
    interests_option,
    json_option,
    k_option,
    print_hits,
    print_json,
    search_params,
    search_params_options,
    searcher,
    trust_remote_code,
    use_interests,
    workspace,
)


@main.group("index")
def index_group() -> None:
    """Build, rebuild, verify and inspect the FAISS indexes.

    Example: uue index build --factory HNSW32
    """


def _build(ctx: click.Context, factory: str | None, statement_factory: str | None, full: bool, as_json: bool,
           interests: bool | None = None, **engine: Any) -> None:
    from uue.search.builds import build_indexes

    ws = workspace(ctx)
    with ws.open_store(create=False) as store:
        result = build_indexes(store, ws.indexes_dir, factory=factory, statement_factory=statement_factory,
                               full=full, progress=not as_json, cache_dir=ws.cache_dir, **engine,
                               trust_remote_code=trust_remote_code(ctx), interests=interests)
    if as_json:
        from dataclasses import asdict

        print_json(asdict(result))
        return
    for kind in result.build_ids:
        click.echo(f"{kind:<10} build {result.build_ids[kind]}: {result.factory[kind]}, {result.counts[kind]} vectors "
                   f"({result.embedded[kind]} embedded, {result.reused[kind]} reused)")
    click.echo(f"active now; took {result.seconds:.1f}s")


@index_group.command("build")
@click.option("--factory", default=None, help='FAISS factory string for users: "Flat", "HNSW32", "IVF1024,PQ32"... '
              "(default: the active build's, else Flat).")
@click.option("--statement-factory", default=None, help="FAISS factory string for the statement pool (default Flat).")
@click.option("--full", is_flag=True, help="Embed everything again instead of only new or changed users.")
@click.option("--interests/--no-interests", "interests", default=None,
              help="Also build the multi-interest index (several vectors per user; README \"Multi-interest users\"). "
                   "Default: as the active build (kept once built); --no-interests drops it.")
@engine_options
@json_option
@click.pass_context
def index_build(ctx: click.Context, factory: str | None, statement_factory: str | None, full: bool,
                interests: bool | None, as_json: bool, **engine: Any) -> None:
    """Embed users and statements with the active model; write and activate both indexes.

    Only new or changed users are embedded (and of those, only chunks the cache has not
    seen); users deleted since the last build are dropped.

    Example: uue index build --factory "IVF1024,Flat" --engine ray --workers 2 --shards 4
    """
    _build(ctx, factory, statement_factory, full, as_json, interests, **engine)


@index_group.command("rebuild")
@click.option("--factory", default=None, help="FAISS factory string for users (default: the active build's).")
@engine_options
@json_option
@click.pass_context
def index_rebuild(ctx: click.Context, factory: str | None, as_json: bool, **engine: Any) -> None:
    """Re-embed everything into a new version; switch atomically (the old one serves until then).

    Example: uue index rebuild --engine ray --address ray://head:10001
    """
    _build(ctx, factory, None, True, as_json, **engine)


@index_group.command("verify")
@json_option
@click.pass_context
def index_verify(ctx: click.Context, as_json: bool) -> None:
    """Check checksums, and that every stored user and statement has exactly one vector.

    Example: uue index verify --json
    """
    from uue.search.maintenance import verify_indexes

    with workspace(ctx).open_store(create=False) as store:
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
    """The active builds and the build history.

    Example: uue index stats
    """
    from uue.search.maintenance import index_stats

    with workspace(ctx).open_store(create=False) as store:
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


def explain_options(func):
    func = click.option("--explain-top", type=click.IntRange(1, 20), default=3, show_default=True,
                        help="Chunks shown per result with --explain.")(func)
    return click.option("--explain", is_flag=True,
                        help="Show each result's chunks that match the statement best (why it matched).")(func)


def _explain(ctx: click.Context, search, user_ids: list[str], vectors, top: int):
    """Each user's chunks that score highest against each row of ``vectors``."""
    from uue.search.explain import Explainer

    return Explainer(search, workspace(ctx).cache_dir).explain(user_ids, vectors, top)


def _print_explained(hits: list, rows: list[dict], explanations: list[dict], as_json: bool, key: str) -> None:
    """Hits with their best-matching chunks (``uue.search.explain``): each JSON row gains an ``explanation``."""
    if as_json:
        print_json([{**row, "explanation": e} for row, e in zip(rows, explanations)])
        return
    for rank, (hit, why) in enumerate(zip(hits, explanations), start=1):
        click.echo(f"{rank:>3}. {hit.score:+.4f}  {getattr(hit, key)}")
        for chunk in why["top"]:
            where = " ".join(x for x in (chunk["timestamp"], chunk["platform"]) if x)
            text = chunk["text"] if len(chunk["text"]) <= 160 else chunk["text"][:157] + "..."
            click.echo(f"        {chunk['score']:+.3f}  {f'[{where}] ' if where else ''}{text}")


def compound_options(func):
    """``--statement`` / ``--not-statement`` / ``--like-user`` / ``--unlike-user``, each ``VALUE`` or ``VALUE^WEIGHT``."""
    for name, metavar, text in reversed([
            ("--statement", "TEXT[^W]", "Also describe users by this statement."),
            ("--not-statement", "TEXT[^W]", "Push down users this statement describes."),
            ("--like-user", "ID[^W]", "Also look for users like this one."),
            ("--unlike-user", "ID[^W]", "Push down users like this one.")]):
        func = click.option(name, name.lstrip("-").replace("-", "_") + "s", multiple=True, metavar=metavar,
                            help=f"{text} Repeatable; ^W weighs it (default 1).")(func)
    return func


def compound_query(text: str | None, statements: tuple[str, ...], not_statements: tuple[str, ...],
                   like_users: tuple[str, ...], unlike_users: tuple[str, ...]):
    """``None`` for a plain ``uue audience TEXT``, else the ``CompoundQuery`` the options ask for."""
    if not (statements or not_statements or like_users or unlike_users):
        if text is None:
            raise click.UsageError("give a statement TEXT, or --statement / --like-user (see `uue audience --help`)")
        return None
    from uue.search.compound_query import CompoundQuery, CompoundQueryError, Term, parse_terms

    if text is not None and "^" in text:
        raise CompoundQueryError(f"TEXT {text!r} contains '^': TEXT is taken literally; to weigh a statement, "
                                 "give it as --statement \"TEXT^WEIGHT\"")
    terms = parse_terms(statements, not_statements, like_users, unlike_users)
    return CompoundQuery(((Term("statement", text.strip()),) if text is not None else ()) + terms)


@main.command()
@click.argument("text", required=False)
@compound_options
@click.option("-k", "k", type=click.IntRange(min=1), default=None,
              help="Number of results (default 10; with --out, every user passing the filters).")
@filter_options
@click.option("--min-score", type=float, default=None, help="Only users scoring at least this (cosine).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the audience to FILE.csv or FILE.jsonl (rank, user_id, score), with no 10,000 cap.")
@search_params_options
@interests_option
@explain_options
@json_option
@click.pass_context
def audience(ctx: click.Context, text: str | None, statements: tuple[str, ...], not_statements: tuple[str, ...],
             like_users: tuple[str, ...], unlike_users: tuple[str, ...], k: int | None, where: tuple[str, ...],
             since: str | None, until: str | None, min_score: float | None, out: str | None, nprobe: int | None,
             ef_search: int | None, recall: float | None, interests: bool | None, explain: bool, explain_top: int,
             as_json: bool) -> None:
    """The users that the statement TEXT describes best.

    A compound audience combines statements and users: --statement and --like-user add
    what is wanted (one query vector: their weighted mean), --not-statement and
    --unlike-user push down users they describe (a penalty per standard deviation above
    the typical user); each is repeatable and takes a weight after a caret, TEXT^W
    (README "Compound audiences"). TEXT, when given, is one more wanted statement, taken
    literally. The named users are never in the result.

    With --out the whole audience is written to a file, from an exact scan of every
    indexed user (best first; -k and --min-score cut it). --explain shows each user's
    chunks that match the statement (the wanted inputs together) best. --interests scores
    each user by their best-matching interest (a user with a small side interest is found by it).

    Example: uue audience "enjoys hiking" --where country=DE --min-score 0.3 --out hikers.csv

    Example: uue audience --statement "enjoys hiking" --not-statement "enjoys camping^2" --like-user u42 --since 2024-03-01
    """
    from storage.filters import parse_filter

    query = compound_query(text, statements, not_statements, like_users, unlike_users)
    user_filter = parse_filter(where, since, until)
    explicit, interests = interests, use_interests(interests)
    if interests and query is not None:
        if explicit:  # $UUE_INTERESTS only sets the default where it applies
            raise click.UsageError("--interests scores one statement against each user's interests: a compound "
                                   "audience (--statement, --not-statement, --like-user, --unlike-user) uses the "
                                   "single user vectors; leave out --interests")
        interests = False
    if out is not None:
        from uue.search.export import export_audience, export_format

        export_format(out)  # refuse a bad file name before any work
        n = export_audience(searcher(ctx), query or text, out, user_filter=user_filter, min_score=min_score, limit=k,
                            interests=interests)
        if as_json:
            print_json({"out": out, "users": n})
        else:
            click.echo(f"wrote {n} users to {out}")
        return
    search = searcher(ctx)
    params = search_params(nprobe, ef_search, recall)
    hits = (search.audience(text, k or 10, user_filter, params, interests=interests) if query is None
            else search.compound_audience(query, k or 10, user_filter, params))
    if min_score is not None:
        hits = [h for h in hits if h.score >= min_score]
    if explain and hits:
        from uue.search.compound import query_vector

        vector = search.statement_vectors([text]) if query is None else query_vector(search, query)[None, :]
        whys = _explain(ctx, search, [h.user_id for h in hits], vector, explain_top)
        from dataclasses import asdict

        _print_explained(hits, [asdict(h) for h in hits], [w.to_json() for w in whys], as_json, "user_id")
        return
    print_hits(hits, as_json, "user_id", "no users match the filter")


@main.command()
@click.argument("user_id")
@k_option
@filter_options
@search_params_options
@interests_option
@json_option
@click.pass_context
def similar(ctx: click.Context, user_id: str, k: int, where: tuple[str, ...], since: str | None,
            until: str | None, nprobe: int | None, ef_search: int | None, recall: float | None, interests: bool | None,
            as_json: bool) -> None:
    """The users nearest to USER_ID (never USER_ID itself).

    --interests compares interest sets: the weighted average, over USER_ID's interests, of
    each one's best cosine with any interest of the other user.

    Example: uue similar u42 -k 20 --where platform=reddit

    Example: uue similar u42 --recall 0.99   (an HNSW index: the efSearch its build measured for recall 0.99)
    """
    from storage.filters import parse_filter

    user_filter = parse_filter(where, since, until)
    hits = searcher(ctx).similar(user_id, k, user_filter, search_params(nprobe, ef_search, recall),
                                 interests=use_interests(interests))
    print_hits(hits, as_json, "user_id", "no other users match the filter")


@main.command()
@click.argument("user_id")
@k_option
@click.option("--statement", "statements", multiple=True, metavar="TEXT",
              help="Also score this free-text statement for the user. Repeatable.")
@click.option("--calibrated", is_flag=True,
              help="Rank by scores calibrated per statement (standard deviations above the typical user).")
@interests_option
@explain_options
@json_option
@click.pass_context
def profile(ctx: click.Context, user_id: str, k: int, statements: tuple[str, ...], calibrated: bool,
            interests: bool | None, explain: bool, explain_top: int, as_json: bool) -> None:
    """The pool statements that describe USER_ID best (plus any --statement).

    Scores are cosine similarities. --calibrated ranks by each statement's score
    standardised over users instead (+2.0 = the statement fits this user two standard
    deviations better than it fits users in general): it demotes statements that are
    close to everyone, and also those true of everyone (see the README's results).

    --interests lists the user's interests (largest first: share of their chunks, an
    example chunk) with the -k pool statements that describe each best.

    Example: uue profile u42 -k 5 --statement "works night shifts" --explain
    """
    search = searcher(ctx)
    if use_interests(interests):
        if explain:
            raise click.UsageError("--explain works on the single user vector: leave out --interests")
        _print_interests(search.profile(user_id, k, statements, calibrated=calibrated, interests=True), as_json)
        return
    result = search.profile(user_id, k, statements, calibrated=calibrated)
    if explain:
        hits = result.top + result.scored
        why = _explain(ctx, search, [user_id], search.statement_vectors([h.statement for h in hits]), explain_top)[0]
        _print_explained(hits, result.to_json(), [why.to_json(i) for i in range(len(hits))], as_json, "statement")
        return
    if as_json:
        print_json(result.to_json())
        return
    print_hits(result.top, False, "statement", "the statement pool is empty")
    if result.scored:
        click.echo("asked:")
        print_hits(result.scored, False, "statement", "")


def _print_interests(result, as_json: bool) -> None:
    if as_json:
        print_json(result.to_json())
        return
    for i, interest in enumerate(result.interests, start=1):
        example = interest.example if len(interest.example) <= 100 else interest.example[:97] + "..."
        click.echo(f"interest {i}: {interest.weight:.0%} of the chunks ({interest.chunks}), e.g. \"{example}\"")
        print_hits(interest.top, False, "statement", "the statement pool is empty")
