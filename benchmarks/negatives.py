"""Does mining pay? random vs hard vs semi-hard negatives, beside both baselines.

For each dataset: one fresh workspace, the same ingest, the same config and seed; one
training per negative sampler (mined from the FAISS statement index, refreshed each
epoch); each model evaluated on the test split with the same users and statement pool.
The untrained base encoder (mean pooling) and TF-IDF are evaluated once per dataset.

    python -m benchmarks.negatives --datasets movielens synthetic --epochs 2
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

KEYS = ("retrieval/recall@10", "retrieval/mrr@10", "retrieval/ndcg@10", "zero_shot/roc_auc",
        "zero_shot/roc_auc_per_statement", "audience/ndcg@10", "similarity/neighbour_agreement@10")
SAMPLERS = ("random", "hard", "semi-hard")


def run_dataset(name: str, home: Path, epochs: int, synthetic_users: int) -> dict:
    from uue.data import load_dataset, write_jsonl
    from uue.data.schema import UserData
    from uue.evaluation.report import create_evaluation_report
    from uue.jobs.pipeline import DEMO_CONFIG
    from uue.model.inference import UniversalUserEmbeddingEvaluator
    from uue.training.store_run import train_from_store
    from uue.workspace import Workspace

    ws = Workspace.resolve(home)
    options = {"n_users": synthetic_users, "seed": 0} if name == "synthetic" else {}
    dataset = load_dataset(name, **options)
    users, pool_file = home / "users.jsonl", home / "statements.jsonl"
    write_jsonl(dataset, users, pool_file, progress=False)
    store = ws.open_store()
    store.ingest_file(users, pool_file)
    test_users = [UserData.from_record(r) for _, r in store.iter_users(split="test")]
    pool = [t for _, t in store.statements()]
    held_out = {t for _, t in store.statements(held_out=True)}
    results: dict[str, dict] = {}
    for sampler in SAMPLERS:
        config = replace(DEMO_CONFIG, num_epochs=epochs, negatives=sampler)
        started = time.perf_counter()
        model_dir, _ = train_from_store(store, config, ws.models_dir / sampler, show_progress=False)
        seconds = time.perf_counter() - started
        baselines = ("base", "tfidf") if not results else ()
        report = create_evaluation_report(UniversalUserEmbeddingEvaluator(model_dir), test_users, pool,
                                          ws.reports_dir / sampler, held_out=held_out, baselines=baselines)
        results[sampler] = {**report["model"], "train_seconds": seconds}
        for baseline in baselines:
            if baseline in report:
                results[baseline] = report[baseline]
        logging.getLogger(__name__).warning("%s / %s done in %.0fs", name, sampler, seconds)
    store.close()
    return {"test_users": len(test_users),
            "pool": len(pool), "held_out": len(held_out), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["movielens", "synthetic"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--synthetic-users", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from benchmarks._common import markdown_table, write_results

    out: dict[str, dict] = {}
    tables = []
    for name in args.datasets:
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = run_dataset(name, Path(tmp), args.epochs, args.synthetic_users)
        results = out[name]["results"]
        systems = [s for s in (*SAMPLERS, "base", "tfidf") if s in results]
        rows = [[key, *(results[s].get(key, float("nan")) for s in systems)] for key in KEYS]
        rows.append(["train seconds", *(results[s].get("train_seconds", "") for s in systems)])
        info = out[name]
        tables.append(f"**{name}** ({info['test_users']} test users, pool of {info['pool']} statements, "
                      f"{info['held_out']} held out; {args.epochs} epochs, demo config)\n\n"
                      + markdown_table(["metric", *systems], rows))
    table = "\n\n".join(tables)
    print(table)
    write_results("negatives", {"epochs": args.epochs, "datasets": out}, table)


if __name__ == "__main__":
    main()
