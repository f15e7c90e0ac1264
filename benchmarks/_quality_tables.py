"""The report of ``benchmarks/quality.py``: per-dataset metric tables, compound and interest tables, verdicts."""

from __future__ import annotations

import math
from typing import Any

COLUMNS: list[tuple[str, str]] = [
    ("zero_shot/roc_auc_per_statement", "zero-shot AUC/stmt"),
    ("zero_shot/audience_ndcg@10", "zero-shot aud nDCG@10"),
    ("profile/roc_auc_per_user", "profile AUC"),
    ("profile/roc_auc_per_user_calibrated", "profile AUC calib"),
    ("profile/roc_auc_per_user_centred", "profile AUC centred"),
    ("similar/half_recall@1", "half recall@1"),
    ("similarity/neighbour_agreement@10", "nbr agree@10"),
    ("retrieval/recall@10", "recall@10 (seen)"),
    ("train_seconds", "train s"),
]


def fmt(value: Any) -> str:
    """A metric as a table cell: three decimals (none from 100 up), "–" when missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def dataset_table(name: str, info: dict[str, Any], epochs: int) -> str:
    results = info["results"]
    chance = next((r["similarity/neighbour_agreement_chance@10"] for r in results.values()
                   if "similarity/neighbour_agreement_chance@10" in r), math.nan)
    header = ["model"] + [f"{label} (chance {fmt(chance)})" if key == "similarity/neighbour_agreement@10" else label
                          for key, label in COLUMNS]
    lines = [f"**{name}** — {info['n_test']} test users, {info['n_train']} train users, pool of {info['n_pool']} "
             f"statements; held out (zero-shot): {', '.join(info['held_out_families'])} "
             f"({info['n_held_out']} statements); neighbour attribute {info['attribute']!r}; "
             f"{epochs or 'default'} epoch(s)"
             + (f"; the other statements of the one-per-user families {', '.join(info['exclusive_families'])} "
                f"count as known false for test users" if info.get("exclusive_families") else ""), "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model_name, m in results.items():
        if "error" in m:
            cells = [f"error: {m['error'][:100]}"] + [""] * (len(COLUMNS) - 1)
        else:
            cells = [fmt(m.get(key)) for key, _ in COLUMNS]
        lines.append("| " + " | ".join([model_name, *cells]) + " |")
    return "\n".join(lines)


COMPOUND_COLUMNS = [("precision@10", "P@10"), ("ndcg@10", "nDCG@10"), ("recall@10", "R@10"),
                    ("leak@10", "B in top 10"), ("ndcg@10_overlap", "nDCG@10, B overlaps A")]
COMPOUND_METHODS = {"naive": "A alone (plain audience)", "compound": "A, not B (UUE compound)",
                    "average_vector": "Qdrant average_vector 2a−b", "best_score": "Qdrant best_score",
                    "hard_exclude": "drop z(B) > 2"}
LIKE_METHODS = {"single": "one example (similar)", "compound": "like the 5 (UUE compound)",
                "best_score": "Qdrant best_score (max)"}


def _method_rows(results: dict[str, dict[str, Any]], methods: dict[str, str], metric: str,
                 keys: list[str]) -> list[str]:
    """One table row per model and method: ``metric`` names each cell's result key (``{method}``, ``{key}``)."""
    return ["| " + " | ".join([model_name, label, *(fmt(m.get(metric.format(method=method, key=key))) for key in keys)])
            + " |" for model_name, m in results.items() for method, label in methods.items()]


def _results_with(info: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """The models whose results hold ``key`` (the ones a table applies to)."""
    return {m: r for m, r in info["results"].items() if key in r}


def _head(second: str, columns: list[tuple[str, str]]) -> list[str]:
    """Header and rule of a model / ``second`` / ``columns`` table."""
    return ["| model | " + second + " | " + " | ".join(label for _, label in columns) + " |",
            "|---|---|" + "---|" * len(columns)]


def compound_tables(name: str, info: dict[str, Any]) -> str:
    """The compound-audience rows (benchmarks/_compound.py): "A but not B" and "like these 5 users"."""
    results = _results_with(info, "compound/n_pairs")
    if not results:
        return ""
    any_row = next(iter(results.values()))
    lines = [f"**{name}: compound audiences** — {int(any_row['compound/n_pairs'])} (A, B) pairs of statements on the "
             f"test users, relevant = users with A and without B; {int(any_row['compound/n_pairs_overlap'])} pairs "
             "where ≥ 25% of A's users have B (last column). \"B in top 10\": the share of the top 10 who have B "
             "(lower is better)", "", *_head("method", COMPOUND_COLUMNS)]
    lines += _method_rows(results, COMPOUND_METHODS, "compound/{method}/{key}", [key for key, _ in COMPOUND_COLUMNS])
    lines += ["", f"**{name}: like these 5 users** — {int(any_row['like_users/n_statements'])} statements with ≥ 8 test "
              "users: 5 of them are the examples, relevant = the statement's other users", "",
              "| model | method | P@10 | nDCG@10 | R@10 |", "|---|---|---|---|---|"]
    lines += _method_rows(results, LIKE_METHODS, "like_users/{method}/{key}", ["precision@10", "ndcg@10", "recall@10"])
    return "\n".join(lines)


INTEREST_COLUMNS = [("minor/audience_ndcg@10", "minor nDCG@10"), ("minor/audience_recall@10", "minor recall@10"),
                    ("minor/user_recall@R", "minor users in top R"), ("all/audience_ndcg@10", "all stmts nDCG@10"),
                    ("clusters/mean_interests", "vectors/user"), ("cost/index_mb", "index MB"),
                    ("cost/query_cpu_ms", "CPU ms/query")]


def interest_table(name: str, info: dict[str, Any]) -> str:
    """Single vs multi-interest user vectors (uue.evaluation.interests), where true interests are known."""
    results = _results_with(info, "interests/multi/minor/n_statements")
    if not results:
        return ""
    one = next(iter(results.values()))
    lines = [f"**{name}: multi-interest users** — {int(one['interests/multi/minor/n_statements'])} statements about "
             f"a test user's minor interest (the true topic with the fewest of their chunks; "
             f"{int(one['interests/multi/minor/n_pairs'])} user–statement pairs); relevant = every test user the "
             "statement is true of; \"minor users in top R\": the share of the users whose minor interest it is "
             "ranked within the top R (R = its true users); cost on all "
             f"{int(one['interests/multi/cost/n_users'])} users (Flat index, one thread, CPU time)", "",
             *_head("user vectors", INTEREST_COLUMNS)]
    lines += _method_rows(results, {"single": "single", "multi": "multi-interest (best match)"},
                          "interests/{method}/{key}", [key for key, _ in INTEREST_COLUMNS])
    multi = next(iter(results.values()))
    lines += ["", f"Clusters on the test users: {fmt(multi.get('interests/multi/clusters/single_topic_one'))} of "
              f"single-topic users get one interest, {fmt(multi.get('interests/multi/clusters/multi_topic_several'))} "
              "of users with several topics get two or more (chatter posts may form a cluster of their own)."]
    return "\n".join(lines)


def verdict(name: str, info: dict[str, Any], mode: str) -> list[str]:
    """Does the default trained mode beat both the untrained encoder and TF-IDF on the headline metrics?"""
    results = info["results"]
    trained = results.get(mode, {})
    if "error" in trained or not trained:
        return [f"{name}: {mode} has no result ({trained.get('error', 'not run')})"]

    def profile(m: dict[str, Any], serving_only: bool) -> float:
        values = [m.get("profile/roc_auc_per_user", math.nan)]  # what `uue profile` ranks by (cosine)
        if not serving_only:
            values.append(m.get("profile/roc_auc_per_user_calibrated", math.nan))
        finite = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        return max(finite) if finite else math.nan

    checks = [("zero-shot AUC/statement", lambda m, t: m.get("zero_shot/roc_auc_per_statement", math.nan)),
              ("profile AUC (trained: raw, as served; baselines: best of raw/calibrated)", lambda m, t: profile(m, t)),
              ("similar half_recall@1", lambda m, t: m.get("similar/half_recall@1", math.nan))]
    lines = []
    for label, get in checks:
        mine = get(trained, True)
        others = {b: get(results[b], False) for b in ("untrained", "tfidf")
                  if b in results and "error" not in results[b]}
        beats = bool(others) and all(math.isfinite(mine) and (not math.isfinite(v) or mine > v)
                                     for v in others.values())
        versus = ", ".join(f"{b} {fmt(v)}" for b, v in others.items())
        lines.append(f"{name}: {mode} beats untrained and tfidf on {label}: {'YES' if beats else 'no'} "
                     f"({fmt(mine)} vs {versus})")
    return lines
