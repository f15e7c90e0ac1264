"""``uue export``: a model as sentence-transformers (+ its user side), or user vectors as Parquet."""

from __future__ import annotations

import click

from cli.app import main
from cli.common import json_option, print_json, workspace


@main.command("export")
@click.argument("source", metavar="MODEL_DIR|vectors")
@click.argument("out", required=False, type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["sentence-transformers"]), default="sentence-transformers",
              show_default=True, help="The model format written to OUT.")
@click.option("--metrics", "metrics_file", type=click.Path(dir_okay=False), default=None,
              help="metrics.json of `uue evaluate` for the model card (default: MODEL_DIR/metrics.json, else "
                   "the workspace's reports/MODEL_NAME/metrics.json, if present).")
@click.option("--push-to-hub", "repo", default=None, metavar="OWNER/NAME",
              help="Also upload OUT to this Hugging Face Hub repository (needs `hf auth login` or HF_TOKEN).")
@click.option("--public", is_flag=True, help="With --push-to-hub: create the repository public (default private).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="vectors: the .parquet file to write.")
@json_option
@click.pass_context
def export(ctx: click.Context, source: str, out: str | None, fmt: str, metrics_file: str | None, repo: str | None,
           public: bool, out_file: str | None, as_json: bool) -> None:
    """Export MODEL_DIR to OUT in a standard format, or `vectors` (the active users index) to --out.

    \b
    uue export MODEL_DIR --format sentence-transformers OUT   SentenceTransformer(OUT) embeds statements
                                                              as UUE does; OUT/user_side/ pools users
    uue export vectors --out users.parquet                    user_id, vector, model_id per user

    (A model directory named `vectors`: write ./vectors.)

    Example: uue export ~/.uue/models/run-1 --format sentence-transformers exported/ --push-to-hub me/my-uue
    """
    if source == "vectors":
        if out_file is None or out is not None or repo:
            raise click.UsageError("uue export vectors takes --out FILE.parquet (and nothing else)")
        from uue.export.vectors import export_vectors

        with workspace(ctx).open_store(create=False) as store:
            result = export_vectors(store, out_file, progress=not as_json)
        if as_json:
            print_json(result)
        else:
            click.echo(f"wrote {result['users']} user vectors ({result['dim']}-d, model #{result['model_id']}) "
                       f"-> {out_file}")
        return
    if out is None:
        raise click.UsageError("give OUT, the directory to write: uue export MODEL_DIR --format "
                               "sentence-transformers OUT")
    from pathlib import Path

    from uue.export.card import read_metrics
    from uue.export.hub import push_to_hub
    from uue.export.sentence_transformers_format import export_sentence_transformers

    # the report of `uue evaluate` for this model: beside it, else in the workspace's reports/<model dir name>/
    found = [p for p in (Path(source) / "metrics.json", workspace(ctx).reports_dir / Path(source).name / "metrics.json")
             if p.is_file()]
    metrics = read_metrics(metrics_file) if metrics_file else read_metrics(found[0]) if found else None
    export_sentence_transformers(source, out, metrics=metrics)
    result = {"format": fmt, "out": out}
    if repo:
        result["pushed"] = push_to_hub(out, repo, private=not public)
    if as_json:
        print_json(result)
        return
    click.echo(f"exported {source} as {fmt} -> {out}" + (f" (pushed: {result['pushed']})" if repo else ""))
