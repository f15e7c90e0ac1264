"""The evaluation suite: one embedder on test users, and the report beside the baselines.

``evaluate_embedder`` computes every metric group for one ``Embedder``;
``create_evaluation_report`` (the Python API name) runs the model and the baselines on
the same users and statements and, given an output directory, writes ``metrics.json``,
``report.md`` and PNG figures. Metric names are flat and namespaced, e.g.
``retrieval/recall@10``, ``zero_shot/roc_auc``, ``audience/ndcg@10``,
``traits/age/r2``, ``similarity/neighbour_agreement@10``, ``profile/roc_auc_per_user``,
``similar/half_recall@1``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from uue.data.schema import UserData
from uue.evaluation import metrics as M
from uue.evaluation import user_metrics as UM
from uue.evaluation.baselines import BM25Scorer, Embedder, TfidfScorer, build_base_embedder, score_matrix, user_texts
from uue.evaluation.skipped import skipped_sections
from uue.jsonsafe import json_safe

logger = logging.getLogger(__name__)

CURVE_MAX_K = 50
GROUPS: dict[str, str] = {
    "retrieval": "Preference retrieval (user → statements of the pool)",
    "zero_shot": "Zero-shot statements (held out from training): user × statement pairs",
    "profile": "Profile (each user's true vs known-false statements; calibrated = z-scored per statement)",
    "audience": "Audience retrieval (statement → users)",
    "traits": "Trait regression (ridge on user vectors, k-fold CV)",
    "similarity": "User similarity (metadata attribute)",
    "similar": "Similar users (two disjoint halves of one history find each other)",
}
BASELINES = ("base", "tfidf", "bm25")
BASE_CONFIG_FIELDS = ("base_model_name", "max_chunk_length", "max_statement_length", "num_chunks_per_user",
                      "pooling", "query_instruction", "trust_remote_code")

__all__ = ["EmbedderEvaluation", "run_evaluation", "evaluate_embedder", "create_evaluation_report", "make_baseline",
           "unseen_statements", "choose_attribute", "render_markdown", "write_report"]


@dataclass
class EmbedderEvaluation:
    """Metrics of one embedder plus what the figures need."""

    metrics: dict[str, float]
    user_vectors: Any  # [n_users, dim] ndarray or sparse
    recall_curve: np.ndarray  # preference Recall@k, k = 1..min(CURVE_MAX_K, n_candidates)


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def unseen_statements(train_users: Iterable[UserData], eval_users: Iterable[UserData]) -> set[str]:
    """Statements of the evaluation users (true or known-false) that no training user has as true."""
    seen = {s for u in train_users for s in u.statements}
    return {s for u in eval_users for s in (*u.statements, *u.negative_statements) if s not in seen}


def _label(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def choose_attribute(users: Sequence[UserData]) -> str | None:
    """A user metadata key fit to colour and group users by.

    The key present for ≥ half of the users with the most distinct values between 2
    and half the labelled users (ties: alphabetical); None when there is none.
    """
    best: tuple[int, str] | None = None
    for key in sorted({k for u in users for k in u.metadata}):
        values = [_label(u.metadata.get(key)) for u in users]
        known = [v for v in values if v is not None]
        distinct = len(set(known))
        if len(known) * 2 >= len(users) and 2 <= distinct <= max(2, len(known) // 2):
            if best is None or distinct > best[0]:
                best = (distinct, key)
    return None if best is None else best[1]


def run_evaluation(embedder: Embedder, users: Sequence[UserData], statement_pool: Sequence[str],
                   held_out: Iterable[str] = (), *, attribute: str | None = None, traits: bool = True,
                   ks: Sequence[int] = (1, 5, 10), folds: int = 5, seed: int = 0,
                   show_progress: bool = False) -> EmbedderEvaluation:
    """All metric groups for one embedder on ``users`` (see ``evaluate_embedder``)."""
    held = set(held_out)
    if not users:
        raise ValueError("evaluation needs at least one user")
    # Candidates: the pool, plus user statements missing from it (so every positive is rankable);
    # known-false statements that are in neither are scored (zero-shot, profile) but not ranked.
    candidates = _unique([*statement_pool, *(s for u in users for s in u.statements)])
    n_extra_pos = len(candidates) - len(_unique(statement_pool))
    if n_extra_pos:
        logger.info("%d true statements of the evaluation users are not in the pool; added", n_extra_pos)
    col = {s: j for j, s in enumerate(candidates)}
    extra_neg = _unique(s for u in users for s in u.negative_statements if s not in col)
    for s in extra_neg:
        col[s] = len(col)
    texts = candidates + extra_neg

    start = time.perf_counter()
    histories = user_texts(users)
    U = embedder.encode_users(histories, show_progress=show_progress)
    scores = score_matrix(embedder, histories, texts, user_vectors=U, show_progress=show_progress)
    logger.info("encoded %d users and %d statements in %.1fs", len(users), len(texts),
                time.perf_counter() - start)
    n_cand = len(candidates)
    pref = scores[:, :n_cand]
    out: dict[str, float] = {}

    # preference retrieval: user -> pool
    positives = [{col[s] for s in u.statements} for u in users]
    out.update(M.retrieval_metrics(pref, positives, ks=ks, prefix="retrieval/"))
    curve = M.recall_curve(pref, positives, max(1, min(CURVE_MAX_K, n_cand)))

    # zero-shot: held-out statements only, positives vs known negatives
    labels: list[int] = []
    pair_scores: list[float] = []
    pair_statements: list[str] = []
    for i, u in enumerate(users):
        for value, group in ((1, u.statements), (0, u.negative_statements)):
            for s in _unique(group):
                if s in held:
                    labels.append(value)
                    pair_scores.append(float(scores[i, col[s]]))
                    pair_statements.append(s)
    out["zero_shot/n_pairs"] = float(len(labels))
    out["zero_shot/n_positive"] = float(sum(labels))
    if labels:
        out["zero_shot/roc_auc"] = M.roc_auc(labels, pair_scores)
        out["zero_shot/average_precision"] = M.average_precision(labels, pair_scores)
        # per statement: ranks each held-out statement's users on their own (audience use)
        auc, n_statements = M.grouped_roc_auc(labels, pair_scores, pair_statements)
        out["zero_shot/n_statements_ranked"] = float(n_statements)
        if n_statements:
            out["zero_shot/roc_auc_per_statement"] = auc
    # zero-shot audience: each held-out statement true of >= 1 user ranks all users
    held_cols = sorted({col[s] for u in users for s in u.statements if s in held})
    if held_cols:
        audiences = [{i for i, u in enumerate(users) if texts[j] in u.statements} for j in held_cols]
        ndcg, n_aud = UM.audience_ndcg(scores[:, held_cols], audiences, k=10)
        out["zero_shot/audience_n_statements"] = float(n_aud)
        out["zero_shot/audience_ndcg@10"] = ndcg

    # profile: each user's true vs known-false statements, raw and calibrated per statement
    negatives = [{col[s] for s in u.negative_statements} for u in users]
    out.update(UM.profile_metrics(scores, positives, negatives, n_candidates=n_cand, k=5))

    # audience: statement -> users, for statements with >= 1 positive user
    audience_pos: list[set[int]] = [set() for _ in range(n_cand)]
    for i, p in enumerate(positives):
        for j in p:
            audience_pos[j].add(i)
    aud = M.retrieval_metrics(pref.T, audience_pos, ks=(10, 50), prefix="audience/")
    out.update({k: v for k, v in aud.items() if k != "audience/precision@50"})

    # traits
    if traits:
        names = sorted({t for u in users for t in u.traits})
        targets = {t: np.array([u.traits.get(t, math.nan) for u in users], dtype=np.float64) for t in names}
        if targets:
            for key, value in M.trait_regression(U, targets, folds=folds, seed=seed).items():
                out[f"traits/{key}"] = value

    # user similarity on a metadata attribute
    if attribute:
        attr = [_label(u.metadata.get(attribute)) for u in users]
        out["similarity/n_labelled"] = float(sum(a is not None for a in attr))
        out["similarity/neighbour_agreement@10"] = M.neighbour_agreement(U, attr, k=10)
        out["similarity/neighbour_agreement_chance@10"] = M.neighbour_agreement_chance(attr)
        out["similarity/silhouette"] = M.silhouette(U, attr, seed=seed)

    # similar users: two halves of one history, each other's nearest neighbour?
    half_recall, n_split = UM.half_recall_at_1(embedder, histories, show_progress=show_progress)
    out["similar/n_users"] = float(n_split)
    out["similar/half_recall@1"] = half_recall
    return EmbedderEvaluation(metrics=out, user_vectors=U, recall_curve=curve)


def evaluate_embedder(embedder: Embedder, users: list[UserData], statement_pool: list[str], held_out: set[str],
                      *, attribute: str | None = None, traits: bool = True) -> dict[str, float]:
    """Every metric of one embedder on the given (test-split) users, flat and namespaced.

    - ``retrieval/*``: user → pool ranking against each user's true statements.
    - ``zero_shot/*``: ROC-AUC / AP of user × statement scores on held-out statements (pooled
      over all pairs), and ``roc_auc_per_statement``: the AUC of each held-out statement's
      users, averaged over the statements that have both a positive and a negative user
      (positives: the user's held-out true statements; negatives: their held-out
      ``negative_statements``), with the pair counts.
    - ``zero_shot/audience_ndcg@10``: each held-out statement true of ≥ 1 user ranks all
      users; nDCG@10 against the users it is true of, averaged (``audience_n_statements``).
    - ``profile/*``: ``roc_auc_per_user`` (each user's true vs ``negative_statements``
      scores, averaged over users with both; ``n_users``), the same ``_calibrated`` after
      ``metrics.calibrate_per_statement``, and ``precision@5`` (``_calibrated``) of the
      user → candidates ranking.
    - ``audience/*``: statement → users, for pool statements true of ≥ 1 user.
    - ``traits/{trait}/r2|pearson_r|n``: ridge, k-fold out-of-fold predictions.
    - ``similarity/*``: neighbour agreement@10 (and its chance level), cosine silhouette
      on ``user.metadata[attribute]``.
    - ``similar/half_recall@1``: each user with ≥ 2 chunks split into even / odd chunks,
      both halves embedded as users; how often a half's nearest other half (inner product)
      is its own other half (``similar/n_users``: users split).
    """
    return run_evaluation(embedder, users, statement_pool, held_out, attribute=attribute, traits=traits).metrics


def _base_from_model(model: Any) -> Embedder:
    config = getattr(model, "config", None) or getattr(getattr(model, "model", None), "config", None)
    fields = {f: getattr(config, f) for f in BASE_CONFIG_FIELDS if config is not None and hasattr(config, f)}
    name = fields.pop("base_model_name", None)
    return build_base_embedder(name, **fields)


def make_baseline(name: str, users: Sequence[UserData], statements: Sequence[str]) -> Embedder:
    """A fitted lexical baseline: ``"tfidf"`` (on the users' histories plus ``statements``) or
    ``"bm25"`` (on the users' histories). ``users`` are the evaluated users."""
    if name == "tfidf":
        texts = _unique([*statements, *(s for u in users for s in (*u.statements, *u.negative_statements))])
        return TfidfScorer().fit(users, texts)
    if name == "bm25":
        return BM25Scorer().fit(users)
    raise ValueError(f"unknown lexical baseline {name!r}; known: tfidf, bm25")


def create_evaluation_report(evaluator: Any, test_users: list[UserData], candidate_statements: list[str],
                             output_dir: str | Path | None = None, *, baselines: Sequence[str] = BASELINES,
                             held_out: Iterable[str] | None = None, attribute: str | None = None,
                             training_curves: Mapping[str, Sequence[float]] | None = None,
                             base_embedder: Embedder | None = None, traits: bool = True,
                             show_progress: bool = False) -> dict[str, dict[str, float]]:
    """Evaluate the model and the baselines on the same users and statements.

    ``evaluator`` is a ``UniversalUserEmbeddingEvaluator`` (its ``.model`` is used) or an
    ``Embedder`` itself. Baselines: ``"tfidf"`` (fitted on the test users' histories plus
    the statements), ``"bm25"`` (fitted on the test users' histories) and ``"base"`` (``base_embedder``, else the untrained backbone of the
    model's config with mean pooling; skipped with a warning when it cannot be built).
    ``held_out``: the statements unseen in training (see ``unseen_statements``); the
    zero-shot group is empty without it. ``attribute``: the metadata key for the
    similarity group, chosen by ``choose_attribute`` when None.
    Returns ``{"model": {...}, "base": {...}, "tfidf": {...}, "bm25": {...}}``; with ``output_dir``,
    writes ``metrics.json``, ``report.md`` and PNG figures there.
    """
    if hasattr(evaluator, "encode_users"):  # an embedder (a model, a cached or open-vocabulary wrapper): as is
        model = evaluator
    else:  # a holder of a model (UniversalUserEmbeddingEvaluator): statements scored as the index serves them
        from uue.model.open_vocabulary import OpenVocabularyEmbedder

        model = OpenVocabularyEmbedder(evaluator.model)
    pool = _unique(candidate_statements)
    held = set(held_out or ())
    if attribute is None:
        attribute = choose_attribute(test_users)
        if attribute:
            logger.info("user similarity grouped by metadata attribute %r", attribute)
    systems: dict[str, Embedder] = {"model": model}
    for name in baselines:
        if name in ("tfidf", "bm25"):
            systems[name] = make_baseline(name, test_users, pool)
        elif name == "base":
            if base_embedder is not None:
                systems["base"] = base_embedder
                continue
            try:
                systems["base"] = _base_from_model(model)
            except Exception as exc:  # missing weights or model code: report without this baseline
                logger.warning("base-encoder baseline skipped: %s: %s", type(exc).__name__, exc)
        else:
            raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
    evaluations: dict[str, EmbedderEvaluation] = {}
    for name, embedder in systems.items():
        start = time.perf_counter()
        evaluations[name] = run_evaluation(embedder, test_users, pool, held, attribute=attribute, traits=traits,
                                           show_progress=show_progress)
        logger.info("evaluated %s in %.1fs", name, time.perf_counter() - start)
    results = {name: ev.metrics for name, ev in evaluations.items()}
    skipped = skipped_sections(results["model"], n_users=len(test_users), n_held_out=len(held & set(pool)),
                               attribute=attribute, systems=list(systems), baselines=baselines)
    for reason in skipped:
        logger.warning("skipped %s", reason)
    if output_dir is not None:
        meta = {"n_users": len(test_users), "n_statements": len(pool), "n_held_out": len(held),
                "attribute": attribute, "skipped": skipped}
        labels = None if not attribute else [_label(u.metadata.get(attribute)) for u in test_users]
        write_report(results, output_dir, curves={n: ev.recall_curve for n, ev in evaluations.items()},
                     user_vectors=evaluations["model"].user_vectors, labels=labels, meta=meta,
                     training_curves=training_curves)
    return results


def write_report(results: Mapping[str, Mapping[str, float]], output_dir: str | Path, *,
                 curves: Mapping[str, np.ndarray] | None = None, user_vectors: Any = None,
                 labels: Sequence[str | None] | None = None, meta: Mapping[str, Any] | None = None,
                 training_curves: Mapping[str, Sequence[float]] | None = None) -> Path:
    """Write ``metrics.json``, the figures and ``report.md`` into ``output_dir``; returns the directory."""
    from uue.evaluation import plots

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(json_safe(results), indent=2, sort_keys=True) + "\n",
                                      encoding="utf-8")
    figures: dict[str, str] = {}
    if curves:
        plots.plot_recall_curves(curves, out / "recall_curves.png")
        figures["retrieval"] = "recall_curves.png"
    attribute = (meta or {}).get("attribute")
    if user_vectors is not None and user_vectors.shape[0] >= 3:
        plots.plot_user_map(user_vectors, labels, out / "user_map.png", title="Users, model vectors",
                            attribute=attribute)
        figures["similarity"] = "user_map.png"
    if training_curves:
        plots.plot_training_curves(training_curves, out / "training_curves.png")
        figures["training"] = "training_curves.png"
    (out / "report.md").write_text(render_markdown(results, meta or {}, figures), encoding="utf-8")
    logger.info("report written to %s", out)
    return out


def _is_descriptive(metric: str) -> bool:
    """Counts and chance levels: shown, never ranked."""
    last = metric.rsplit("/", 1)[-1]
    return last == "n" or last.startswith("n_") or "chance" in last


def _fmt(value: float | None, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if _is_descriptive(metric) and "chance" not in metric:
        return str(int(value))
    return f"{value:.4f}"


def render_markdown(results: Mapping[str, Mapping[str, float]], meta: Mapping[str, Any],
                    figures: Mapping[str, str] | None = None) -> str:
    """The report page: one table per metric group (metric | model | base | tfidf | bm25), best bolded."""
    figures = figures or {}
    systems = list(results)
    lines = ["# UUE evaluation report", ""]
    if meta:
        lines += [", ".join(f"{k}: {v}" for k, v in meta.items() if k != "skipped"), ""]
    if meta.get("skipped"):
        lines += ["Not measured on these users:", "", *(f"- {reason}" for reason in meta["skipped"]), ""]
    metric_names = _unique(k for m in results.values() for k in m)
    groups = _unique(k.split("/", 1)[0] for k in metric_names)
    for group in groups:
        lines += [f"## {GROUPS.get(group, group)}", "", "| metric | " + " | ".join(systems) + " |",
                  "|---|" + "---|" * len(systems)]
        for metric in (k for k in metric_names if k.split("/", 1)[0] == group):
            values = [results[s].get(metric) for s in systems]
            finite = [v for v in values if v is not None and math.isfinite(v)]
            ranked = len(set(finite)) > 1 and not _is_descriptive(metric)  # no bold when all tie
            best = max(finite) if ranked else None
            cells = [f"**{_fmt(v, metric)}**" if best is not None and v == best else _fmt(v, metric)
                     for v in values]
            lines.append(f"| {metric.split('/', 1)[1]} | " + " | ".join(cells) + " |")
        lines.append("")
        if group in figures:
            lines += [f"![{group}]({figures[group]})", ""]
    if "training" in figures:
        lines += ["## Training curves", "", f"![training]({figures['training']})", ""]
    lines += ["Higher is better for every ranked metric; counts (n, n_*) and chance levels are context. "
              "Retrieval: macro-average over queries with ≥ 1 relevant item.", ""]
    return "\n".join(lines)
