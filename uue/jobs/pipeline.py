"""End-to-end jobs over a workspace: ``evaluate`` and the ``demo``.

Library code: progress goes to ``logging`` and tqdm; the ``say`` callback (the CLI
passes ``click.echo``) receives the few lines a person watching the demo should read.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from storage.errors import UUEError
from storage.jsonl import read_users
from storage.store import Store
from uue.data.schema import UserData
from uue.model.config import ModelConfig
from uue.workspace import Workspace

logger = logging.getLogger(__name__)

# The default model (locked statement tower, whole histories, user-user term): the chunk
# vectors are embedded once into the workspace's cache, training then runs on them, and the
# index build re-pools users from the same cache.
DEMO_CONFIG = ModelConfig()


def _say(_: str) -> None:
    return None


def evaluate_from_store(store: Store, output_dir: Path, *, data: str | Path | None = None,
                        split: str = "test", show_progress: bool = True, cache_dir: Path | None = None,
                        attribute: str | None = None, trust_remote_code: bool = False) -> dict[str, dict[str, float]]:
    """Evaluate the active model beside the baselines; write the report to ``output_dir``.

    Users: the store's ``split`` (default test), or every user of ``data`` (a users.jsonl
    file, validated like ingest, not stored). Candidates: the store's statement pool plus
    the users' own statements. Zero-shot: the statements the store marks held out. With
    ``cache_dir`` (the workspace's), the model and the untrained base read chunk vectors
    through the chunk-vector cache, as index builds do. ``attribute``: the user metadata key
    that groups users in the similarity section (default: chosen from the data). With
    ``data``, users that are also train-split users of the store are warned about (the
    model was trained on them).
    """
    from uue.evaluation.report import BASE_CONFIG_FIELDS, create_evaluation_report
    from uue.model.inference import UniversalUserEmbeddingEvaluator
    from uue.model.open_vocabulary import OpenVocabularyEmbedder

    model_row = store.active_model()
    if data is not None:
        users = [UserData.from_record(r) for r in read_users(data)]
    else:
        users = [UserData.from_record(r) for _, r in store.iter_users(split=split)]
    if not users:
        raise UUEError(f"no {split} users to evaluate on: ingest more users or pass --data USERS.jsonl")
    if attribute is not None and not any(attribute in u.metadata for u in users):
        keys = sorted({k for u in users for k in u.metadata})
        raise UUEError(f"--attribute {attribute!r} is not a metadata key of the evaluated users; they have: "
                       f"{', '.join(keys) or 'no metadata'}")
    if data is not None:
        seen = trained_on(store, [u.user_id for u in users])
        if seen:
            logger.warning("%d of the %d users in %s are train-split users of this workspace (the model was trained "
                           "on them, e.g. %s): their scores are optimistic; evaluate on users it has not seen",
                           len(seen), len(users), data, ", ".join(seen[:3]))
    pool = [text for _, text in store.statements()]
    held_out = {text for _, text in store.statements(held_out=True)}
    curves = report_curves(Path(model_row.path) / "training_curves.json")
    evaluator = UniversalUserEmbeddingEvaluator(model_row.path, trust_remote_code=trust_remote_code)
    model, base = evaluator.model, None
    if cache_dir is not None and model.config.training_mode == "locked":  # the base's encoder: one cache
        from uue.evaluation.baselines import build_base_embedder
        from uue.model.chunk_cache import CachedEmbedder

        fields = {f: getattr(model.config, f) for f in BASE_CONFIG_FIELDS}
        try:
            base = CachedEmbedder(build_base_embedder(fields.pop("base_model_name"), **fields), cache_dir)
        except Exception as exc:  # missing weights or model code: the report skips this baseline
            logger.warning("base-encoder baseline skipped: %s: %s", type(exc).__name__, exc)
        model = CachedEmbedder(model, cache_dir)
    model = OpenVocabularyEmbedder(model, evaluator.model)  # statements scored as the index serves them
    return create_evaluation_report(model, users, pool, output_dir, held_out=held_out, base_embedder=base,
                                    training_curves=curves, show_progress=show_progress, attribute=attribute)


def trained_on(store: Store, user_ids: list[str]) -> list[str]:
    """Those of ``user_ids`` that are train-split users of the store."""
    from sqlalchemy import select

    from storage.tables import User, batched

    found: list[str] = []
    with store.session() as s:
        for part in batched(user_ids):
            found.extend(s.scalars(select(User.user_id).where(User.user_id.in_(part), User.split == "train")))
    return sorted(found)


def report_curves(path: Path) -> dict[str, list] | None:
    """The trainer's ``training_curves.json`` as the report's series: per-step loss (steps of a
    smaller last batch left out) and temperature, the per-epoch dev metrics placed at each
    epoch's last step (epoch 0, untrained, at step 0), and ``epoch_ends`` (the steps where
    epochs end, drawn as dotted lines)."""
    if not path.exists():
        return None
    from uue.training.plots import epoch_end_steps, full_batch_steps

    history = json.loads(path.read_text())
    steps = list(range(1, len(history.get("step_loss", [])) + 1))
    epochs = history.get("epochs", [])
    if not steps:
        return None
    full = full_batch_steps(history)  # a smaller last batch has fewer negatives: a lower loss that is no progress
    out: dict[str, list] = {"step": steps, "loss": [v if f else None for v, f in zip(history["step_loss"], full)]}
    if history.get("temperature"):
        out["temperature"] = history["temperature"]
    ends = epoch_end_steps(history)
    at = {0: 0, **{i + 1: end for i, end in enumerate(ends)}}  # epoch 0 (untrained) sits at step 0
    for key in ("dev_recall@10", "dev_in_batch_accuracy"):
        values = [e.get(key) for e in epochs]
        if any(v is not None for v in values):
            out[key] = values
            out[f"{key}_step"] = [at.get(int(e.get("epoch", i)), ends[-1] if ends else 0) for i, e in enumerate(epochs)]
    out["epoch_ends"] = ends[:-1]
    return out


def _dataset(max_users: int | None, say: Callable[[str], None]):
    from uue.data import load_dataset

    try:
        dataset = load_dataset("movielens", n_users=max_users)
        say(f"dataset: MovieLens-100k ({len(dataset)} real users, ratings in time order)")
        return dataset
    except UUEError as exc:
        say(f"dataset: MovieLens-100k is not available ({exc}); using the synthetic set instead")
        return load_dataset("synthetic", n_users=max_users or 1000, seed=0)


def follow_up_commands(home: Path, statement: str, user_id: str) -> list[str]:
    """The commands a person can run next on the demo's workspace (with its ``--home``)."""
    prefix = f"uue --home {shlex.quote(str(home))}"
    return [f"{prefix} audience {shlex.quote(statement)} -k 10",
            f"{prefix} similar {shlex.quote(user_id)} -k 5",
            f"{prefix} profile {shlex.quote(user_id)} -k 5",
            f"{prefix} users show {shlex.quote(user_id)}",
            f"{prefix} stats"]


def run_demo(ws: Workspace, *, max_users: int | None = None, epochs: int | None = None,
             say: Callable[[str], None] = _say,
             show_progress: bool = True) -> dict[str, Any]:
    """Ingest a real dataset, train briefly, build the indexes, query, evaluate."""
    from uue.data import write_jsonl
    from uue.search.builds import build_indexes
    from uue.search.queries import Searcher
    from uue.training.store_run import train_from_store

    started = time.perf_counter()
    data_dir = ws.home / "data"
    dataset = _dataset(max_users, say)
    users_path, pool_path = data_dir / f"{dataset.name}.jsonl", data_dir / f"{dataset.name}-statements.jsonl"
    write_jsonl(dataset, users_path, pool_path)
    store = ws.open_store()
    counts = store.ingest_file(users_path, pool_path, progress=show_progress)
    stats = store.stats()
    say(f"ingested {stats['users']} users ({stats['splits']}), {stats['chunks']} chunks, "
        f"{stats['statements']} statements ({stats['held_out_statements']} held out for zero-shot), "
        f"{counts['labels']} labels")

    config = replace(DEMO_CONFIG, num_epochs=epochs).resolved()
    model_dir = ws.models_dir / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    say(f"training {config.base_model_name} ({config.training_mode} mode) for {config.num_epochs} epoch(s) "
        "on the train split ...")
    model_dir, train_metrics = train_from_store(store, config, model_dir, show_progress=show_progress,
                                                cache_dir=ws.cache_dir)
    say(f"model saved to {model_dir}; best epoch {train_metrics['best_epoch']}: dev selection "
        f"{train_metrics.get('dev_selection', float('nan')):.3f} (untrained "
        f"{train_metrics.get('untrained_dev_selection', float('nan')):.3f})")
    if not train_metrics.get("improved", True):
        say("warning: training did not improve on the untrained encoder on the dev users; the model kept is "
            "the untrained starting point")

    built = build_indexes(store, ws.indexes_dir, progress=show_progress, cache_dir=ws.cache_dir)
    say(f"indexes built: {built.counts['users']} users, {built.counts['statements']} statements "
        f"({built.seconds:.0f}s)")

    searcher = Searcher(store)
    test_users = store.user_pks(split="test") or store.user_pks()
    someone = store.user_ids(test_users[:1])[test_users[0]]
    _, record = store.get_user(someone)
    statement = record["statements"][0] if record["statements"] else store.statements()[0][1]
    queries = {
        "audience": (statement, searcher.audience(statement, k=5)),
        "similar": (someone, searcher.similar(someone, k=5)),
        "profile": (someone, searcher.profile(someone, k=5).top),
    }
    for kind, (query, hits) in queries.items():
        say(f"\nuue {kind} {query!r}")
        for rank, hit in enumerate(hits, start=1):
            label = getattr(hit, "user_id", None) or hit.statement
            say(f"  {rank}. {hit.score:+.3f}  {label}")
    say(f"  (true statements of {someone}: {', '.join(record['statements'][:6])})")

    report_dir = ws.reports_dir / model_dir.name
    results = evaluate_from_store(store, report_dir, show_progress=show_progress, cache_dir=ws.cache_dir)
    say(f"\nevaluation on the test split (report: {report_dir / 'report.md'})")
    keys = ("retrieval/recall@10", "retrieval/ndcg@10", "zero_shot/roc_auc_per_statement",
            "zero_shot/audience_ndcg@10", "profile/roc_auc_per_user", "profile/roc_auc_per_user_calibrated",
            "similar/half_recall@1", "similarity/neighbour_agreement@10", "similarity/neighbour_agreement_chance@10")
    say(f"  {'metric':<36}" + "".join(f"{name:>10}" for name in results))
    for key in keys:
        say(f"  {key:<36}" + "".join(f"{results[name].get(key, float('nan')):>10.3f}" for name in results))
    say(f"\ndemo finished in {time.perf_counter() - started:.0f}s; workspace: {ws.home}")
    say("next, on the same workspace:")
    for command in follow_up_commands(ws.home, statement, someone):
        say(f"  {command}")
    store.close()
    return {"train": train_metrics, "evaluation": results, "seconds": time.perf_counter() - started}
