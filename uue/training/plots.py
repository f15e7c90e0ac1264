"""The training curves figure: loss per step, and the dev metrics per epoch (epoch 0 = untrained).

Dotted lines mark where each epoch ends. The last batch of an epoch is usually smaller:
with fewer in-batch negatives its InfoNCE loss is lower, which a line would draw as a dip
that is no progress; such steps are drawn as separate grey marks, off the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from uue.training.selection import SELECTION_KEYS


def epoch_end_steps(history: dict[str, Any]) -> list[int]:
    """The (1-based) step that ends each trained epoch: recorded with the epoch (``steps``),
    else the steps split evenly over the trained epochs (histories written before)."""
    trained = [e for e in history.get("epochs", []) if e.get("epoch", 0) > 0]
    if trained and all("steps" in e for e in trained):
        return [int(e["steps"]) for e in trained]
    n = len(history.get("step_loss", []))
    return [round(n * (i + 1) / len(trained)) for i in range(len(trained))] if trained else []


def full_batch_steps(history: dict[str, Any]) -> np.ndarray:
    """Boolean per step: True where the batch had the full number of users."""
    n = len(history.get("step_loss", []))
    sizes = history.get("step_users") or []
    if len(sizes) != n or not n:
        return np.ones(n, dtype=bool)
    sizes = np.asarray(sizes)
    return sizes >= sizes.max()


def plot_training_curves(history: dict[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 3.5))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    loss = np.asarray(history["step_loss"], dtype=np.float64)
    steps = np.arange(1, loss.size + 1)
    full = full_batch_steps(history)
    left.plot(steps[full], loss[full], lw=1, label="loss")
    if (~full).any():
        left.plot(steps[~full], loss[~full], "x", color="grey", ms=4,
                  label="smaller last batch (fewer negatives: lower loss)")
        left.legend(fontsize=7)
    for end in epoch_end_steps(history)[:-1]:
        left.axvline(end + 0.5, color="grey", lw=0.7, ls=":")
    left.set(title="training loss (dotted: epoch ends)", xlabel="step", ylabel="loss")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    epochs = history["epochs"]
    for key in (*SELECTION_KEYS, "dev_selection"):
        points = [(e["epoch"], e[key]) for e in epochs if key in e]
        if points:
            right.plot(*zip(*points), marker="o", label=key.removeprefix("dev_"),
                       lw=2.5 if key == "dev_selection" else 1)
    if any(k.startswith("dev_") for e in epochs for k in e):
        right.legend(fontsize=8)
        right.set(title="dev metrics (epoch 0 = untrained)", xlabel="epoch", ylim=(0, 1))
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        right.text(0.5, 0.5, "no dev users", ha="center", va="center", transform=right.transAxes)
        right.set(title="dev metrics", xticks=[], yticks=[])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
