"""The ``uue`` command group; the command modules attach their commands to it."""

from __future__ import annotations

import logging
import os
import sys

import click

from cli.common import UUEGroup


@click.group(cls=UUEGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="Workspace directory (default: $UUE_HOME, else ./.uue).")
@click.option("--db", default=None, metavar="URL",
              help="SQLAlchemy database URL (default: $UUE_DATABASE_URL, else HOME/uue.db).")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.option("--trust-remote-code", is_flag=True,
              help="Let a Hugging Face backbone run its own Python code (off; a model directory's or "
                   "checkpoint's config.json cannot turn it on, only this flag or your own --config).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default=None,
              help="Inference precision of the encoder (default: the model's config, else auto = bf16 on CUDA "
                   "and on CPUs with native bf16, fp32 elsewhere; sets $UUE_INFERENCE_PRECISION).")
@click.version_option(package_name="uue")
@click.pass_context
def main(ctx: click.Context, home: str | None, db: str | None, verbose: int, trust_remote_code: bool,
         precision: str | None) -> None:
    """UUE — Universal User Embeddings: users and statements in one vector space.

    \b
    The steps, in order (each command's -h has an example):
      1. uue ingest users.jsonl --statements statements.jsonl   store users (and a statement pool)
      2. uue train                       train the dual encoder; it becomes the active model
      3. uue index build                 embed users and statements, build the FAISS indexes
      4. uue audience "enjoys hiking"    query: also `uue similar USER_ID`, `uue profile USER_ID`
      5. uue evaluate                    metrics beside baselines, with a report
    All of it at once on a real dataset: uue --home /tmp/uue-demo demo
    Workspace: --home DIR, else $UUE_HOME, else ./.uue (`uue stats` shows it).

    Example: uue --home ~/uue ingest data/users.jsonl
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.ensure_object(dict)
    ctx.obj.update(home=home, db=db, trust_remote_code=trust_remote_code)
    if precision is not None:
        _set_env(ctx, "UUE_INFERENCE_PRECISION", precision)


def _set_env(ctx: click.Context, name: str, value: str) -> None:
    """Set ``$name`` for this invocation (and the workers it starts); restored when it ends."""
    before = os.environ.get(name)
    os.environ[name] = value

    def restore() -> None:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before

    ctx.call_on_close(restore)
