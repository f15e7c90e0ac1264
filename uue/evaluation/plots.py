"""PNG figures of the evaluation report (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

TSNE_MAX_USERS = 3000
TSNE_MIN_USERS = 50
OTHER_NAMES = ("other", "(other)", "others")  # below this t-SNE has too few points for its perplexity; PCA instead

__all__ = ["plot_recall_curves", "plot_user_map", "plot_training_curves", "project_2d"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _save(fig: Any, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    logger.info("wrote %s", out)
    return out


def plot_recall_curves(curves: Mapping[str, Sequence[float] | np.ndarray], path: str | Path,
                       title: str = "Preference retrieval: Recall@k") -> Path:
    """One line per system: Recall@k against k = 1..len(curve)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = ("-", "--", ":", "-.")
    for i, (name, values) in enumerate(curves.items()):
        y = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(1, y.size + 1), y, label=name, linewidth=1.8, linestyle=styles[i % len(styles)])
    ax.set_xlabel("k")
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set_ylabel("Recall@k")
    ax.set_ylim(0.0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def project_2d(vectors: Any, seed: int = 0, method: str = "auto") -> tuple[np.ndarray, str]:
    """2-D coordinates of the rows: t-SNE (cosine) for 50..3000 rows when ``auto``, PCA otherwise.

    Sparse input is projected with truncated SVD.
    """
    from scipy import sparse

    n = vectors.shape[0]
    if method == "auto":
        method = "tsne" if TSNE_MIN_USERS <= n <= TSNE_MAX_USERS else "pca"
    if n < 3:
        return np.zeros((n, 2)), method
    if sparse.issparse(vectors):
        from sklearn.decomposition import TruncatedSVD

        dense = TruncatedSVD(n_components=min(50, vectors.shape[1] - 1, n - 1), random_state=seed
                             ).fit_transform(vectors)
    else:
        dense = np.asarray(vectors, dtype=np.float64)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (n - 1) / 3))
        coords = TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity,
                      random_state=seed).fit_transform(dense)
        return np.asarray(coords), "t-SNE"
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(dense), "PCA"


def plot_user_map(vectors: Any, labels: Sequence[Hashable | None] | None, path: str | Path,
                  title: str = "Users", attribute: str | None = None, seed: int = 0,
                  max_legend: int = 12) -> Path:
    """Scatter of the users in 2-D, coloured by ``labels`` (the top ``max_legend`` values named)."""
    plt = _pyplot()
    coords, method = project_2d(vectors, seed=seed)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=8, alpha=0.7)
    else:
        names = np.array(["(none)" if lab is None else str(lab) for lab in labels], dtype=object)
        values, counts = np.unique(names.astype(str), return_counts=True)
        order = values[np.argsort(-counts, kind="stable")]
        shown = list(order[:max_legend])
        if len(order) > max_legend:  # the grey rest is "other": a value named so joins it (one "other")
            shown = [v for v in shown if v.lower() not in OTHER_NAMES]
        cmap = plt.get_cmap("tab20" if len(shown) > 10 else "tab10")
        rest = ~np.isin(names.astype(str), shown)
        if rest.any():
            ax.scatter(coords[rest, 0], coords[rest, 1], s=6, c="lightgrey", alpha=0.6, label="other")
        for i, value in enumerate(shown):
            sel = names.astype(str) == value
            ax.scatter(coords[sel, 0], coords[sel, 1], s=8, color=cmap(i % cmap.N), alpha=0.8, label=value)
        ax.legend(title=attribute, fontsize=7, markerscale=2, loc="best")
    ax.set_title(f"{title} ({method})")
    ax.set_xticks([])
    ax.set_yticks([])
    return _save(fig, path)


def plot_training_curves(curves: Mapping[str, Sequence[float]], path: str | Path,
                         x_key: str = "step") -> Path:
    """One panel per series of ``curves`` (e.g. loss, dev_recall@10) against ``curves[x_key]``.

    A series measured at other steps can carry its own x values as ``"{name}_{x_key}"``;
    a series whose length differs from its x values is drawn against its index.
    ``curves["epoch_ends"]`` (steps) are drawn as dotted lines in every panel.
    """
    plt = _pyplot()
    ends = list(curves.get("epoch_ends") or [])
    series = {k: v for k, v in curves.items()
              if k not in (x_key, "epoch_ends") and not k.endswith(f"_{x_key}") and len(v) > 0}
    if not series:
        raise ValueError(f"training curves have no series besides {x_key!r}")
    fig, axes = plt.subplots(1, len(series), figsize=(4.5 * len(series), 3.5), squeeze=False)
    for ax, (name, values) in zip(axes[0], series.items()):
        y = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        xs = curves.get(f"{name}_{x_key}", curves.get(x_key))  # e.g. "dev_recall@10_step"
        x = np.asarray(xs, dtype=np.float64) if xs is not None and len(xs) == y.size else np.arange(y.size)
        ok = np.isfinite(y)
        ax.plot(x[ok], y[ok], marker="o" if ok.sum() < 30 else None, markersize=3)
        for end in ends:
            ax.axvline(end + 0.5, color="grey", lw=0.7, ls=":")
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_xlabel(x_key if not ends else f"{x_key} (dotted: epoch ends)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    return _save(fig, path)
