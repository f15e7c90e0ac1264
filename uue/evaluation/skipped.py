"""What an evaluation could not measure on its users, and why (``uue evaluate`` says so)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def skipped_sections(metrics: Mapping[str, float], *, n_users: int, n_held_out: int, attribute: str | None,
                     systems: Sequence[str] = (), baselines: Sequence[str] = ()) -> list[str]:
    """One line per metric group left out of ``metrics`` (the model's), naming the cause and
    the fix. ``systems``: the systems evaluated; ``baselines``: the ones asked for."""
    out: list[str] = []
    if n_held_out == 0:
        out.append("zero-shot: the statement pool has no held-out statements (about 1 in 10 distinct statements "
                   "is held out from training); ingest a larger statement pool (--statements)")
    elif not metrics.get("zero_shot/n_pairs"):
        out.append(f"zero-shot: none of the {n_held_out} held-out statements is a true or known-false statement "
                   "of the evaluated users")
    else:
        if "zero_shot/roc_auc_per_statement" not in metrics:
            out.append("zero-shot ROC-AUC per statement: no held-out statement has both a true and a known-false "
                       "user among the evaluated users (known-false ones come from negative_statements)")
        if "zero_shot/audience_ndcg@10" not in metrics:
            out.append("zero-shot audience: no held-out statement is true of any evaluated user")
    if not metrics.get("profile/n_users"):
        out.append("profile ROC-AUC: no evaluated user has both statements and negative_statements")
    if not any(key.startswith("traits/") for key in metrics):
        out.append("traits: the evaluated users carry no trait values")
    if not attribute:
        out.append(f"similarity by attribute: no user metadata key suits grouping the {n_users} users (one set "
                   "for at least half of them, with 2 to n/2 distinct values); name one with --attribute KEY")
    if metrics.get("similar/n_users", 0) < 2:
        out.append("similar users (half recall@1): fewer than 2 evaluated users have 2 or more chunks to split")
    for name in baselines:
        if name not in systems:
            out.append(f"baseline {name!r}: it could not be built (see the warning above)")
    return out
