"""Model commands: ``train``, ``evaluate``, ``demo``."""

from __future__ import annotations

import click

from cli.app import main
from cli.common import json_option, key_values, print_json, trust_remote_code, workspace
from uue.model.config import NEGATIVE_SAMPLERS


@main.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file of ModelConfig fields.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Number of epochs.")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Model directory (default: a new HOME/models/<timestamp>; with --resume, the checkpoint's run).")
@click.option("--resume", "resume", type=click.Path(exists=True, file_okay=False), default=None,
              help="Continue exactly from a checkpoint-epoch-N (or checkpoint-step-S) directory, with its config "
                   "(only --epochs and --save-steps may change).")
@click.option("--base-model", default=None, help="Hugging Face model name or local directory.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Users per training step.")
@click.option("--max-users", type=click.IntRange(min=1), default=None, help="Use at most N train (and N dev) users.")
@click.option("--negatives", type=click.Choice(NEGATIVE_SAMPLERS), default=None,
              help="Negative sampler (default: semi-hard).")
@click.option("--negative-option", "negative_options", multiple=True, metavar="KEY=VALUE",
              help="A mining option, e.g. range_max=30, relative_margin=0.05, refresh_every=epoch. Repeatable.")
@click.option("--save-steps", type=click.IntRange(min=0), default=None, metavar="N",
              help="Also checkpoint every N steps inside an epoch (checkpoint-step-N; the newest is kept). 0: off.")
@json_option
@click.pass_context
def train(ctx: click.Context, config_file: str | None, epochs: int | None, output_dir: str | None,
          resume: str | None, base_model: str | None, batch_size: int | None, max_users: int | None,
          negatives: str | None, negative_options: tuple[str, ...], save_steps: int | None, as_json: bool) -> None:
    """Train the dual encoder on the ingested users; register it as the active model.

    The train split is streamed from the store a block of users at a time, so memory does
    not grow with the number of users. With --resume DIR the run continues exactly with
    the checkpoint's own config and --max-users; only --epochs (to train longer) and
    --save-steps may change.

    Example: uue train --epochs 5 --save-steps 1000
    """
    from pathlib import Path

    from uue.model.backbones import resolve_model_path
    from uue.model.config import config_from_sources

    overrides = {"num_epochs": epochs, "base_model_name": base_model, "batch_size": batch_size, "save_steps": save_steps,
                 "negatives": negatives, "sampler_options": key_values(negative_options, "--negative-option"),
                 "trust_remote_code": True if trust_remote_code(ctx) else None}  # None: your --config's, else off
    if resume:
        from uue.training.checkpoint import resume_config

        config = resume_config(resume, config_file, overrides)
    else:
        config = config_from_sources(config_file, overrides)
        resolve_model_path(config.base_model_name)  # an unknown backbone fails now, before torch or any data
    from uue.training.store_run import train_from_store

    ws = workspace(ctx)
    with ws.open_store(create=False) as store:
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


@main.command()
@click.option("--data", type=click.Path(dir_okay=False), default=None,
              help="Evaluate on the users of this users.jsonl instead of the store's test split.")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Report directory (default: HOME/reports/<model>).")
@click.option("--attribute", default=None, metavar="KEY",
              help="User metadata key that groups users in the similarity section (default: chosen from the data).")
@json_option
@click.pass_context
def evaluate(ctx: click.Context, data: str | None, output_dir: str | None, attribute: str | None,
             as_json: bool) -> None:
    """Evaluate the active model beside three baselines (base encoder, TF-IDF, BM25); write a report.

    Sections the users cannot support (too few held-out statements, no attribute to
    group users by...) are skipped with a line on stderr saying why; --data users that
    the model was trained on are warned about.

    Example: uue evaluate --attribute occupation --output-dir reports/latest --json
    """
    from pathlib import Path

    from uue.jobs.pipeline import evaluate_from_store

    ws = workspace(ctx)
    with ws.open_store(create=False) as store:
        target = Path(output_dir) if output_dir else ws.reports_dir / Path(store.active_model().path).name
        results = evaluate_from_store(store, target, data=data, show_progress=not as_json, cache_dir=ws.cache_dir,
                                      attribute=attribute, trust_remote_code=trust_remote_code(ctx))
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
