"""Model quality, the project's yardstick: trained modes beside the untrained encoder, TF-IDF and BM25.

For each dataset: users split train/dev/test (their "split" field, else the stable hash
of storage.records.split_for); whole statement families held out of training (zero-shot);
every model evaluated by uue.evaluation.report.run_evaluation on the same test users,
statement pool and held-out set. Tables (``benchmarks._quality_tables``) go to stdout and to
OUT/quality.{json,md}.

    python -m benchmarks.quality --datasets movielens,synthetic,parlspeech --modes locked,partial,full
    python -m benchmarks.quality --modes full --max-users 200      # a quick end-to-end check

--max-users caps the training users only (the first N of the train split); dev and test
splits are always complete, so numbers of runs with different caps stay comparable.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._quality_tables import COLUMNS, compound_tables, dataset_table, fmt, interest_table, verdict

DATASET_OPTIONS: dict[str, dict[str, Any]] = {
    "movielens": {},
    "synthetic": {"n_users": 1000, "seed": 0},
    "parlspeech": {"languages": "en"},  # the UK MPs: our encoder is English
}
# Statement families (pool categories) held out of training: the zero-shot statements.
HELD_OUT_FAMILIES: dict[str, Callable[[list[str]], list[str]]] = {
    "movielens": lambda categories: ["occupation"],
    "synthetic": lambda categories: sorted(categories)[::5],  # every 5th of the sorted categories (~20%)
    "parlspeech": lambda categories: ["party_family"],
}
# Held-out families with exactly one true statement per user (MovieLens: one occupation each). The data
# lists no known-false occupations, so for evaluation users with exactly one true statement of the family
# its other statements are added as known false (negative_statements): otherwise the zero-shot per-statement
# AUC has no negatives. Applied to the evaluated (test) users only, the same for every model.
EXCLUSIVE_FAMILIES: dict[str, tuple[str, ...]] = {"movielens": ("occupation",)}
# user metadata key for neighbour agreement; None = report.choose_attribute on the test users
ATTRIBUTES: dict[str, str | None] = {"movielens": "occupation", "synthetic": None, "parlspeech": "party"}
# Per mode: locked trains on cached chunk vectors, so it runs at the defaults (128-token chunks, the
# mode's epochs and learning rate); partial / full pass texts through the backbone at every step, so
# they run at the earlier demo's cheap settings (64-token chunks, 4 sampled chunks per user per step)
# and, to fit a 2-core CPU, one epoch unless --epochs says otherwise.
TEXT_SETTINGS: dict[str, Any] = {"max_chunk_length": 64, "max_statement_length": 24, "train_chunks_per_user": 4,
                                 "batch_size": 32, "learning_rate": 1e-4}
TEXT_EPOCHS = 1
TRAIN_SETTINGS: dict[str, dict[str, Any]] = {"locked": {}, "partial": TEXT_SETTINGS, "full": TEXT_SETTINGS}
BASELINES = ("untrained", "tfidf", "bm25")
SEED = 0

logger = logging.getLogger("benchmarks.quality")


def seed_all(seed: int = SEED) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_split(name: str, max_users: int | None) -> dict[str, Any]:
    """Users of ``name`` by split, the pool texts, the held-out families and texts."""
    from storage.records import split_for
    from uue.data import load_dataset
    from uue.data.schema import UserData

    dataset = load_dataset(name, **DATASET_OPTIONS[name])
    splits: dict[str, list[UserData]] = {"train": [], "dev": [], "test": []}
    for record in dataset.iter_users():
        user = UserData.from_dict(record)
        splits[user.split or split_for(user.user_id)].append(user)
    n_train_all = len(splits["train"])
    if max_users is not None:
        splits["train"] = splits["train"][:max_users]
    pool = dataset.statement_pool()
    pool_texts = list(dict.fromkeys(p["text"] for p in pool))
    families = HELD_OUT_FAMILIES[name](sorted({p["category"] for p in pool}))
    held = {p["text"] for p in pool if p["category"] in families}
    n_added = 0
    for family in EXCLUSIVE_FAMILIES.get(name, ()):
        texts = [p["text"] for p in pool if p["category"] == family]
        for user in splits["test"]:
            true = [t for t in texts if t in user.statements]
            if len(true) == 1:
                extra = [t for t in texts if t != true[0] and t not in user.negative_statements]
                user.negative_statements = [*user.negative_statements, *extra]
                n_added += len(extra)
    return {"n_implied_negatives": n_added,"splits": splits, "pool": pool_texts, "families": families, "held": held, "n_train_all": n_train_all}


def build_untrained(cache_for: Callable[[Any], Any]) -> Any:
    """The packaged MiniLM, mean over all of a user's chunks, at the default chunk length."""
    from uue.evaluation.baselines import build_base_embedder
    from uue.model.chunk_cache import CachedEmbedder

    base = build_base_embedder(None, num_chunks_per_user=0)
    return CachedEmbedder(base, cache_for(base))


def train_model(mode: str, epochs: int | None, train_users: list, dev_users: list, pool: list[str], held: set[str],
                cache_for: Callable[[Any], Any], overrides: dict[str, Any] | None = None) -> tuple[Any, float]:
    from uue.model.chunk_cache import CachedEmbedder
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.model.open_vocabulary import OpenVocabularyEmbedder
    from uue.training.trainer import UniversalUserEmbeddingTrainer

    if epochs is None and mode != "locked":
        epochs = TEXT_EPOCHS
    cfg = ModelConfig(training_mode=mode, num_epochs=epochs, seed=SEED, **{**TRAIN_SETTINGS[mode], **(overrides or {})})
    with tempfile.TemporaryDirectory(prefix=f"uue-quality-{mode}-") as tmp:
        started = time.perf_counter()
        model = UniversalUserEmbeddingModel.from_config(cfg)
        cache = cache_for(model) if mode == "locked" else None
        trainer = UniversalUserEmbeddingTrainer(cfg, train_users, dev_users, pool, output_dir=tmp, held_out=held,
                                                show_progress=False, model=model, chunk_cache=cache)
        trainer.train()
        seconds = time.perf_counter() - started
    model = trainer.model
    model.eval()
    logger.info("%s: best epoch %d of %d", mode, trainer.best_epoch, trainer.config.num_epochs)
    # statements scored as the index serves them: open-vocabulary for those training never saw
    return OpenVocabularyEmbedder(CachedEmbedder(model, cache) if mode == "locked" else model, model), seconds


def run_dataset(name: str, modes: list[str], epochs: int | None, max_users: int | None,
                overrides: dict[str, Any] | None = None, cache_dir: Path | None = None) -> dict[str, Any]:
    from benchmarks._compound import compound_metrics
    from uue.evaluation.report import choose_attribute, make_baseline, run_evaluation

    data = load_split(name, max_users)
    splits, pool, held = data["splits"], data["pool"], data["held"]
    test = splits["test"]
    attribute = ATTRIBUTES[name] or choose_attribute(test)
    info = {"options": DATASET_OPTIONS[name], "held_out_families": data["families"], "n_held_out": len(held),
            "attribute": attribute, "n_pool": len(pool), "n_train": len(splits["train"]),
            "n_train_available": data["n_train_all"], "n_dev": len(splits["dev"]), "n_test": len(test),
            "exclusive_families": list(EXCLUSIVE_FAMILIES.get(name, ())),
            "n_implied_negatives": data["n_implied_negatives"]}
    print(f"\n== {name}: {info['n_train']} train (of {info['n_train_available']}) / {info['n_dev']} dev / "
          f"{info['n_test']} test users; pool {len(pool)}; held-out families {data['families']} "
          f"({len(held)} statements); attribute {attribute!r}"
          + (f"; {data['n_implied_negatives']} known-false statements implied by the one-per-user families "
             f"{info['exclusive_families']}" if info["exclusive_families"] else ""), flush=True)

    from uue.model.chunk_cache import ChunkVectorCache

    caches: dict[str, ChunkVectorCache] = {}

    def cache_for(model: Any) -> ChunkVectorCache:
        """One chunk-vector cache per token encoder (the untrained encoder and the locked mode share one)."""
        key = model.encoder_fingerprint()
        if key not in caches:
            width = model.encoder.hidden_size
            caches[key] = (ChunkVectorCache.for_encoder(cache_dir, key, width) if cache_dir
                           else ChunkVectorCache(None, width))
        return caches[key]

    def build(model_name: str) -> tuple[Any, float | None]:
        seed_all()
        if model_name == "untrained":
            return build_untrained(cache_for), None
        if model_name in ("tfidf", "bm25"):
            return make_baseline(model_name, test, pool), None
        return train_model(model_name, epochs, splits["train"], splits["dev"], pool, held, cache_for, overrides)

    truth = None
    if name == "synthetic":  # true topics per user: the multi-interest rows (uue.evaluation.interests)
        from uue.evaluation.interests import synthetic_truth

        truth = synthetic_truth(**DATASET_OPTIONS[name])
    results: dict[str, dict[str, Any]] = {}
    for model_name in [*BASELINES, *modes]:
        started = time.perf_counter()
        try:
            embedder, train_seconds = build(model_name)
            seed_all()
            evaluation = run_evaluation(embedder, test, pool, held, attribute=attribute)
            metrics: dict[str, Any] = dict(evaluation.metrics)
            try:  # the compound rows never turn a model's row into an error
                metrics.update(compound_metrics(evaluation.user_vectors, embedder.encode_statements(pool), pool,
                                                [u.statements for u in test]))
            except Exception as exc:
                logger.warning("%s / %s: compound audiences failed: %s", name, model_name, exc, exc_info=True)
                metrics["compound_error"] = f"{type(exc).__name__}: {exc}"
            if truth is not None and model_name in ("untrained", *modes):
                from uue.evaluation.interests import interest_benchmark

                everyone = [u for split in splits.values() for u in split]
                metrics.update(interest_benchmark(embedder, test, everyone, pool, truth))
            if train_seconds is not None:
                metrics["train_seconds"] = train_seconds
        except Exception as exc:  # one failing model (e.g. a mode still in the works) is an error row
            logger.debug("%s / %s failed", name, model_name, exc_info=True)
            metrics = {"error": f"{type(exc).__name__}: {exc}",
                       "traceback": traceback.format_exc(limit=-3)}
        metrics["total_seconds"] = time.perf_counter() - started
        results[model_name] = metrics
        status = metrics.get("error") or ", ".join(
            f"{label} {fmt(metrics.get(key))}" for key, label in COLUMNS[:5])
        print(f"  {model_name:<10} {metrics['total_seconds']:6.1f}s  {status}", flush=True)
    return {**info, "results": results}


def _safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="movielens,synthetic,parlspeech",
                        help="comma-separated, of: " + ", ".join(DATASET_OPTIONS))
    parser.add_argument("--modes", default="locked,partial,full",
                        help="comma-separated training modes; the first is the default judged against the baselines")
    parser.add_argument("--epochs", type=int, default=None, help="default: each mode's own (10 locked, 3 others)")
    parser.add_argument("--max-users", type=int, default=None, help="cap on training users per dataset")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=JSON",
                        help="a ModelConfig field for the trained modes, e.g. --set user_loss_weight=1.0")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep the chunk vectors of each dataset here between runs (default: in memory)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [d for d in datasets if d not in DATASET_OPTIONS]
    if unknown or not modes:
        parser.error(f"unknown dataset(s) {unknown}" if unknown else "--modes needs at least one mode")

    from benchmarks._common import machine

    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.overrides)}

    command = "python -m benchmarks.quality " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    date = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    out: dict[str, Any] = {}
    for name in datasets:
        out[name] = run_dataset(name, modes, args.epochs, args.max_users, overrides, args.cache_dir)

    tables = [table for name, info in out.items()
              for table in (dataset_table(name, info, args.epochs), compound_tables(name, info),
                            interest_table(name, info)) if table]
    verdicts = [line for name, info in out.items() for line in verdict(name, info, modes[0])]
    text = "\n\n".join(tables) + "\n\n" + "\n".join(f"- {v}" for v in verdicts)
    print("\n" + text)
    args.out.mkdir(parents=True, exist_ok=True)
    host = {**machine(), "platform": platform.platform()}
    data = {"command": command, "date": date, "machine": host, "seed": SEED, "epochs": args.epochs,
            "modes": modes, "max_users": args.max_users, "train_settings": TRAIN_SETTINGS, "overrides": overrides,
            "datasets": out}
    (args.out / "quality.json").write_text(json.dumps(_safe(data), indent=2, sort_keys=True) + "\n")
    md = (f"# Model quality\n\n`{command}`\n\n{date}; {host['platform']}, {host['cpus']} CPUs, "
          f"Python {host['python']}\n\n{text}\n")
    (args.out / "quality.md").write_text(md)
    print(f"\nwrote {args.out / 'quality.json'} and {args.out / 'quality.md'}")


if __name__ == "__main__":
    main()
