"""Checkpoints and best-model selection of a training run: save, resume exactly, keep the best epoch.

Layout of ``output_dir``: the best model at the root (``best_epoch.json`` names its
epoch), ``checkpoint-epoch-N/`` for the last ``save_total_limit`` epochs (model +
``training_state.pt``; older ones are deleted once a newer one is written),
``checkpoint-step-S/`` every ``save_steps`` steps inside an epoch (only the newest; gone
once its epoch's checkpoint is written; it also holds the best model so far), and
``training_curves.json`` / ``.png``.

Resuming (``--resume``) continues exactly: the checkpoint's ``config.json`` is the
config (only ``num_epochs``, ``save_total_limit`` and ``save_steps`` may change), and
``training_state.pt`` holds, besides optimizer, scheduler and RNG states, what else the
run was started with (``max_users``), a fingerprint of its training data and, inside an
epoch, the batch reached (``position``) and the generator state the epoch's order was
drawn from (``epoch_rng``), so the rest of the epoch is the same batches. (With hard or
semi-hard negatives, partial / full modes, the pool is mined again at the resume point.)
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, load_model, save_file

from storage.errors import UUEError
from storage.failures import translated_writes
from uue.model.config import ModelConfig
from uue.model.dual_encoder import WEIGHTS_FILE, UniversalUserEmbeddingModel
from uue.training.checkpoint import (
    CHECKPOINT_PREFIX,
    STATE_FILE,
    STEP_PREFIX,
    config_conflicts,
    prune_epoch_checkpoints,
    prune_step_checkpoints,
    read_checkpoint,
    rng_state,
    set_rng_state,
)
from uue.training.steps import LockedSteps, TextSteps

logger = logging.getLogger(__name__)

BEST_FILE = "best_epoch.json"
BEST_WEIGHTS = "best_model.safetensors"  # in a mid-epoch checkpoint: the best model so far
SELECTION_METRIC = "dev_selection"


class CheckpointMixin:
    """Checkpoint and best-epoch selection methods of ``uue.training.trainer.UniversalUserEmbeddingTrainer``
    (mixed into it; not a trainer by itself).

    The host provides (public attributes, set in its ``__init__``): ``config``, ``output_dir``,
    ``model``, ``device``, ``optimizer``, ``scheduler``, ``steps`` (its ``loss_modules()``),
    ``sampler`` (its ``needs_user_vectors``), ``rng``, ``history``, ``run_info`` and
    ``data_fingerprint``. Resuming restores the model, optimizer, scheduler, loss modules,
    ``rng`` and ``history`` in place.

    This mixin owns the selection state: ``best_metric`` and ``best_epoch`` (public, read by the
    host's metrics) and the best epoch's weights (kept here; ``_restore_best`` puts them back).
    The host calls ``_reset_selection()`` in its ``__init__``, ``_consider`` after scoring an
    epoch, ``_save_checkpoint`` / ``_load_checkpoint`` to write and resume.
    """

    # provided by the host
    config: ModelConfig
    output_dir: Path | None
    model: UniversalUserEmbeddingModel
    device: torch.device
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    steps: LockedSteps | TextSteps
    sampler: Any
    rng: np.random.Generator
    history: dict[str, list]
    run_info: dict[str, Any]
    data_fingerprint: Any
    # owned here
    best_metric: float
    best_epoch: int
    _best_state: dict[str, torch.Tensor] | None

    def _reset_selection(self) -> None:
        """No epoch kept yet."""
        self.best_metric = -math.inf
        self.best_epoch = 0
        self._best_state = None

    def _restore_best(self) -> None:
        """Load the best epoch's weights into the model (none kept yet: the model stays as it is)."""
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)

    def _save_checkpoint(self, epoch: int, step: int, position: int = 0, epoch_rng: str = "") -> Path:
        """``checkpoint-epoch-N`` after epoch N; ``checkpoint-step-S`` at step S inside an
        epoch (``position`` batches into it, ``epoch_rng`` the generator state its order was drawn from)."""
        assert self.output_dir is not None
        name = f"{STEP_PREFIX}{step}" if position else f"{CHECKPOINT_PREFIX}{epoch}"
        directory = self.output_dir / name
        with translated_writes(directory):
            self._write_checkpoint(directory, epoch, step, position, epoch_rng)
        if position:
            prune_step_checkpoints(self.output_dir, step - 1)  # the newest mid-epoch checkpoint is enough
        else:
            prune_epoch_checkpoints(self.output_dir, epoch, self.config.save_total_limit)
            prune_step_checkpoints(self.output_dir, step)
        return directory

    def _write_checkpoint(self, directory: Path, epoch: int, step: int, position: int, epoch_rng: str) -> None:
        self.model.save_pretrained(directory)
        if position and self._best_state is not None:  # the best model so far, kept with the run's state
            save_file({k: v.contiguous() for k, v in self._best_state.items()}, str(directory / BEST_WEIGHTS))
        state = {"epoch": epoch, "step": step, "position": position, "epoch_rng": epoch_rng,
                 "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "loss": {str(i): m.state_dict() for i, m in enumerate(self.steps.loss_modules())},
                 "rng": rng_state(self.rng), "history": json.dumps(self.history),
                 "best_metric": float(self.best_metric), "best_epoch": int(self.best_epoch),
                 "config": json.dumps(self.config.to_dict()),
                 "run": json.dumps({**self.run_info, "data": self.data_fingerprint})}
        try:
            torch.save(state, directory / STATE_FILE)
        except BaseException:  # no half-written state: read_checkpoint refuses a directory without one
            (directory / STATE_FILE).unlink(missing_ok=True)
            raise

    def _load_checkpoint(self, directory: Path) -> tuple[int, int, int, str]:
        """Restore a checkpoint; returns ``(epoch, step, position, epoch_rng)``."""
        # on the CPU: RNG states must be CPU tensors; the optimizer moves its state to the parameters' device
        checkpoint = read_checkpoint(directory, map_location="cpu")
        state, epoch = checkpoint.state, checkpoint.epoch
        position = int(state.get("position", 0))
        conflicts = config_conflicts(checkpoint.config, self.config)
        if conflicts:
            raise UUEError(f"cannot resume {directory} exactly: " + "; ".join(conflicts) +
                           " (resume with the checkpoint's config; only num_epochs and save_steps may change)")
        if self.config.num_epochs < epoch + (1 if position else 0):
            raise UUEError(f"{directory} has already trained {epoch} epochs{' and part of the next' * bool(position)}: "
                           f"num_epochs (--epochs) must be at least {epoch + (1 if position else 0)}, "
                           f"not {self.config.num_epochs}")
        if checkpoint.run.get("data", self.data_fingerprint) != self.data_fingerprint:
            logger.warning("the training data differ from those the checkpoint %s was trained on (users or "
                           "statements changed since): resuming, but not exactly", directory)
        try:
            load_model(self.model, str(directory / WEIGHTS_FILE), device=str(self.device))
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            for i, module in enumerate(self.steps.loss_modules()):
                module.load_state_dict(state["loss"][str(i)])
            self.history = json.loads(state["history"])
            self.best_metric, self.best_epoch = state["best_metric"], state["best_epoch"]
        except Exception as exc:  # size mismatch, missing keys, corrupt weights file, an older format
            raise UUEError(f"cannot resume from {directory}: its weights or optimizer state do not fit the model "
                           f"built from its config ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})") from None
        if position:  # inside an epoch: the best model so far was saved with it (none before epoch 0 is scored)
            if (directory / BEST_WEIGHTS).is_file():
                self._best_state = load_file(str(directory / BEST_WEIGHTS), device="cpu")
        elif self.best_epoch == epoch:
            self._remember_best()
        else:  # the best model lies at the root of the run that wrote the checkpoint
            root = directory.parent
            marker = root / BEST_FILE
            if marker.is_file() and json.loads(marker.read_text())["epoch"] == self.best_epoch:
                self._best_state = load_file(str(root / WEIGHTS_FILE), device="cpu")
            else:
                logger.warning("best model of epoch %d not found under %s; selection restarts", self.best_epoch, root)
                self.best_metric, self.best_epoch = -math.inf, 0
        set_rng_state(self.rng, state["rng"])
        if position and self.sampler.needs_user_vectors and not isinstance(self.steps, LockedSteps):
            logger.warning("resuming inside an epoch: the %s negatives are mined again from here, so the rest of "
                           "the epoch is not exactly what the interrupted run would have done", self.config.negatives)
        logger.info("resumed from %s (epoch %d, step %d%s)", directory, epoch, state["step"],
                    f", batch {position} of the next epoch" if position else "")
        return epoch, int(state["step"]), position, str(state.get("epoch_rng", ""))

    def _remember_best(self) -> None:
        self._best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def _consider(self, record: dict[str, Any], epoch: int) -> None:
        """Keep the epoch if it is the best so far (ties: the later, longer trained one)."""
        metric = record.get(SELECTION_METRIC, -record.get("train_loss", math.inf))
        if metric >= self.best_metric:
            self.best_metric, self.best_epoch = metric, epoch
            self._remember_best()
            if self.output_dir is not None:
                self.model.save_pretrained(self.output_dir)
                (self.output_dir / BEST_FILE).write_text(json.dumps({"epoch": epoch}))
