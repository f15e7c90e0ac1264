"""The training curves figure: loss per step, and the dev metrics per epoch (epoch 0 = untrained)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from uue.training.selection import SELECTION_KEYS


def plot_training_curves(history: dict[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.5))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    left.plot(history["step_loss"], lw=1)
    left.set(title="training loss", xlabel="step", ylabel="loss")
    epochs = history["epochs"]
    for key in (*SELECTION_KEYS, "dev_selection"):
        points = [(e["epoch"], e[key]) for e in epochs if key in e]
        if points:
            right.plot(*zip(*points), marker="o", label=key.removeprefix("dev_"),
                       lw=2.5 if key == "dev_selection" else 1)
    if any(k.startswith("dev_") for e in epochs for k in e):
        right.legend(fontsize=8)
        right.set(title="dev metrics (epoch 0 = untrained)", xlabel="epoch", ylim=(0, 1))
    else:
        right.text(0.5, 0.5, "no dev users", ha="center", va="center", transform=right.transAxes)
        right.set(title="dev metrics", xticks=[], yticks=[])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
