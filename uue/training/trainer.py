"""Training of the dual encoder: data, the mode's steps, optimisation, model selection, checkpoints.

Data handling:

- The statement pool is ``statement_pool`` plus every training user's statements,
  minus ``held_out`` (exact texts after stripping). Held-out statements are also
  dropped from the users' positives (train and dev), so they never reach training or
  model selection.
- Users with statements train both terms of the loss; users without statements
  (``skipped_users`` of the statement term) train only the user–user term.
- The mode (``config.training_mode``) decides what trains and how a step runs:
  ``uue.training.steps``.
- Users (``uue.training.data``): lists in memory (the Python API), or the store's train
  split streamed (``train_from_store``). Each epoch shuffles the users' indices
  (``rng.permutation``) and walks the permutation a block of ``block_size`` users at a
  time: only that block (and, locked, its chunk vectors) is in memory. The batches do not
  depend on the block size; when every user fits in one block they are loaded once.
- Model selection: on the dev users, or, when there are none, on a deterministic slice
  of the training users (1 in 10 by a hash of ``user_id``) held back from training; at
  most ``MAX_DEV_USERS`` of them (a seeded sample). The
  untrained starting point is scored as epoch 0; the best epoch by ``dev_selection``
  (``uue.training.selection``) is the model — epoch 0 included, in which case
  ``metrics["improved"]`` is False and a warning says training made things worse.

Checkpoints, resuming and keeping the best epoch: ``uue.training.trainer_state``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from storage.errors import UUEError
from storage.failures import translated_writes
from uue.data.schema import UserData
from uue.model.chunk_cache import ChunkVectorCache
from uue.model.config import ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel, default_device
from uue.training.checkpoint import seed_everything
from uue.training.data import TrainingData
from uue.training.negatives import NegativeSampler, create_sampler
from uue.training.plots import plot_training_curves
from uue.training.selection import dev_metrics
from uue.training.steps import LockedSteps, TextSteps, freeze_for_mode
from uue.training.trainer_state import SELECTION_METRIC, CheckpointMixin

logger = logging.getLogger(__name__)


class UniversalUserEmbeddingTrainer(CheckpointMixin):
    """Trains a ``UniversalUserEmbeddingModel``; ``train()`` returns the final metrics."""

    def __init__(self, config: ModelConfig, train_data: list[UserData] | None = None,
                 eval_data: list[UserData] | None = None, statement_pool: list[str] | None = None,
                 output_dir: str | Path | None = None,
                 sampler: NegativeSampler | None = None, held_out: set[str] | None = None,
                 model: UniversalUserEmbeddingModel | None = None, device: str | torch.device | None = None,
                 show_progress: bool = True, run_info: dict[str, Any] | None = None,
                 chunk_cache: ChunkVectorCache | None = None,
                 known_statements: dict[str, np.ndarray] | None = None, *, data: TrainingData | None = None,
                 block_size: int | None = None) -> None:
        config = config.resolved()
        self.config = config
        #: JSON-safe facts about how the run was started, kept in checkpoints (e.g. ``max_users``)
        self.run_info = dict(run_info or {})
        self.show_progress = show_progress
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.held_out = {s.strip() for s in (held_out or ())}
        if data is None:
            data = TrainingData.from_lists(list(train_data or []), list(eval_data or []), list(statement_pool or []),
                                           self.held_out, with_unlabelled=config.user_loss_weight > 0)
        self.data = data
        self.pool = data.pool
        self.pool_index = data.pool_index
        self.train_users, self.unlabelled_users = data.train_users, data.unlabelled_users  # in-memory data only
        self.skipped_users = data.skipped_users
        if not data.labelled and (config.user_loss_weight == 0 or not data.unlabelled):
            raise UUEError("no training user has a (non-held-out) statement: nothing to learn from; "
                           "ingest users with 'statements'")
        # users a step draws from: the labelled ones, plus the rest when the user-user term is on
        self.step_users = data.step_users
        self.dev_pool, self.dev_users, self.dev_from_train = data.dev_pool, data.dev_users, data.dev_from_train
        if self.skipped_users:
            logger.info("%d training users have no statement: they train the user-user term only", self.skipped_users)
        self.data_fingerprint = data.fingerprint
        # users held at once: whole batches; all of them (loaded once) when they fit in one block
        n = len(self.step_users)
        block = n if block_size is None else max(1, int(block_size))
        self.block_size = max(1, math.ceil(block / config.batch_size)) * config.batch_size
        self.resident = n <= self.block_size

        seed_everything(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.device = torch.device(device) if device is not None else default_device()
        self.model = (model or UniversalUserEmbeddingModel.from_config(config)).to(self.device)
        self.model.config = dataclasses.replace(self.model.config, learning_rate=config.learning_rate,
                                                num_epochs=config.num_epochs, anchor_weight=config.anchor_weight,
                                                open_vocabulary_mix=config.open_vocabulary_mix)
        self.model.trained_statements = frozenset(self.pool)  # saved with it: any other statement is open-vocabulary
        freeze_for_mode(self.model, config.training_mode, config.partial_layers)
        locked = config.training_mode == "locked"
        # the sampler serves partial / full modes; built in every mode so a bad name fails the same way
        sampler = sampler or create_sampler(config.negatives, self.pool, **dict(config.extra.get("sampler_options", {})))
        # chunk vectors stay valid while the backbone is frozen: cache them (in memory unless given a file)
        if locked and chunk_cache is None:  # (not `or`: an empty cache is falsy, it has a length)
            chunk_cache = ChunkVectorCache(None, self.model.encoder.hidden_size)
        self.chunk_cache = chunk_cache if locked else None
        if locked:
            self.steps: LockedSteps | TextSteps = LockedSteps(self.model, self.pool, config, self.chunk_cache,
                                                              show_progress, known_statements)
        else:
            self.steps = TextSteps(self.model, self.pool, config, sampler, self._encode_pool)
        if self.resident:  # every user (and, locked, their chunk vectors) in memory for the whole run
            self.steps.set_users(self.step_users.load(np.arange(n)))
        self.sampler = sampler
        self.steps_per_epoch = max(1, math.ceil(len(self.step_users) / config.batch_size))
        self.optimizer, self.scheduler = self._optimizer()
        self.history: dict[str, list] = {"step_loss": [], "temperature": [], "epochs": []}
        self._reset_selection()
        self._dev_statements: np.ndarray | None = None  # locked mode: fixed, encoded once

    @property
    def loss_fn(self) -> torch.nn.Module:
        """The statement-side loss (its ``temperature`` is the one reported)."""
        return self.steps.statement_loss

    def _trainable(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _optimizer(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        from transformers import get_cosine_schedule_with_warmup

        cfg = self.config
        decay, no_decay = [], []
        for name, param in self.model.named_parameters():
            if param.requires_grad:
                (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
        temperatures = [p for m in self.steps.loss_modules() for p in m.parameters()]
        temperature_lr = float(cfg.extra.get("temperature_learning_rate", max(cfg.learning_rate, 1e-3)))
        optimizer = torch.optim.AdamW([
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
            {"params": temperatures, "weight_decay": 0.0, "lr": temperature_lr},
        ], lr=cfg.learning_rate)
        total = max(1, self.steps_per_epoch * cfg.num_epochs)
        warmup = int(math.ceil(cfg.warmup_ratio * total))
        return optimizer, get_cosine_schedule_with_warmup(optimizer, warmup, total)

    def _encode_pool(self, texts: list[str]) -> np.ndarray:
        return self.model.encode_statements(texts, batch_size=max(64, self.config.batch_size))

    # ---- one step ---------------------------------------------------------------------

    def _step(self, batch: Sequence[int], epoch: int, step: int) -> float:
        if isinstance(self.steps, LockedSteps):
            loss = self.steps.step(batch, self.rng)
        else:
            loss = self.steps.step(batch, self.rng, epoch, step)
        self.optimizer.zero_grad(set_to_none=True)
        if loss.requires_grad:
            loss.backward()
            params = self._trainable() + [p for m in self.steps.loss_modules() for p in m.parameters()]
            torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
            self.optimizer.step()
        self.scheduler.step()
        for module in self.steps.loss_modules():
            module.clamp_()
        return float(loss.detach())

    # ---- dev metrics ----------------------------------------------------------------

    def evaluate(self) -> dict[str, float]:
        """Dev metrics (``uue.training.selection``): seen-statement Recall@10, per-statement
        AUC, half-history Recall@1 and their mean ``dev_selection``; {} without dev users."""
        was_training = self.model.training
        locked = isinstance(self.steps, LockedSteps)
        if locked and self._dev_statements is None and self.dev_pool:
            self._dev_statements = self.model.encode_statements(self.dev_pool)
        try:
            return dev_metrics(self.model, [u.texts for u in self.dev_users], [u.positive_set for u in self.dev_users],
                               self.dev_pool, cache=self.chunk_cache,
                               statement_vectors=self._dev_statements if locked else None)
        finally:
            self.model.train(was_training)

    # ---- the loop ---------------------------------------------------------------------

    def train(self, resume_from: str | Path | None = None) -> dict[str, Any]:
        cfg = self.config
        start_epoch, step, position, epoch_rng = (self._load_checkpoint(Path(resume_from)) if resume_from
                                                  else (0, 0, 0, ""))
        started = time.perf_counter()
        logger.info("training (%s) on %d users (%d without statements), pool of %d statements, %d dev users, "
                    "device %s%s", cfg.training_mode, len(self.step_users), self.skipped_users, len(self.pool),
                    len(self.dev_users), self.device,
                    "" if self.resident else f", {self.block_size} users at a time")
        if start_epoch == 0 and not position and self.dev_users:  # the untrained starting point, scored like every epoch
            record = {"epoch": 0, **self.evaluate()}
            self.history["epochs"].append(record)
            logger.info("epoch 0 (untrained): %s", record)
            self._consider(record, 0)
        self.model.train()
        for epoch in range(start_epoch, cfg.num_epochs):
            if position:  # inside an epoch: its order again, from the generator state it was drawn from
                resumed = json.dumps(self.rng.bit_generator.state)
                self.rng.bit_generator.state = json.loads(epoch_rng)
                order = self.rng.permutation(len(self.step_users))
                self.rng.bit_generator.state = json.loads(resumed)
            else:
                epoch_rng = json.dumps(self.rng.bit_generator.state)
                order = self.rng.permutation(len(self.step_users))
            losses = list(self.history["step_loss"][len(self.history["step_loss"]) - position:])
            step = self._run_epoch(epoch, step, order, position, epoch_rng, losses)
            position = 0
            record = {"epoch": epoch + 1, "steps": step, "train_loss": float(np.mean(losses)), **self.evaluate()}
            self.history["epochs"].append(record)
            logger.info("epoch %d: %s", epoch + 1, record)
            self._consider(record, epoch + 1)
            if self.output_dir is not None:
                self._save_checkpoint(epoch + 1, step)
            self.model.train()
        self._restore_best()
        self.model.eval()
        if self.best_epoch == 0 and self.dev_users:
            logger.warning("training did not improve on the untrained starting point on the dev users (%s "
                           "%.4f): the model kept is the starting point", SELECTION_METRIC, self.best_metric)
        if self.output_dir is not None:
            self.model.save_pretrained(self.output_dir)
            self._write_curves()
        return self._final_metrics(step, time.perf_counter() - started)

    def _run_epoch(self, epoch: int, step: int, order: np.ndarray, position: int, epoch_rng: str,
                   losses: list[float]) -> int:
        """The epoch's batches from batch ``position`` on, a block of users at a time; returns the step."""
        cfg = self.config
        bs, block = cfg.batch_size, self.block_size
        with tqdm(total=self.steps_per_epoch, initial=position, desc=f"epoch {epoch + 1}/{cfg.num_epochs}",
                  unit="step", disable=not self.show_progress) as bar:
            for start in range(position * bs // block * block, len(order), block):
                members = order[start:start + block]
                if self.resident:  # batches index every user
                    local = members
                else:  # this block's users, read in index (store) order; batches index into them
                    ordered = np.sort(members)
                    self.steps.set_users(self.step_users.load(ordered))
                    local = np.searchsorted(ordered, members)
                for s in range(max(start, position * bs), start + len(members), bs):
                    batch = local[s - start:s - start + bs].tolist()
                    loss = self._step(batch, epoch, step)
                    step += 1
                    position += 1
                    losses.append(loss)
                    self.history["step_loss"].append(loss)
                    self.history.setdefault("step_users", []).append(len(batch))  # plots: a small last batch
                    self.history["temperature"].append(self.steps.temperature)
                    bar.set_postfix(loss=f"{loss:.3f}", temp=f"{self.steps.temperature:.3f}")
                    bar.update()
                    if (cfg.save_steps and self.output_dir is not None and step % cfg.save_steps == 0
                            and position < self.steps_per_epoch):
                        self._save_checkpoint(epoch, step, position, epoch_rng)
        if not self.resident:
            self.steps.set_users([])  # the last block's memory goes before evaluation
        return step

    def _final_metrics(self, steps: int, seconds: float) -> dict[str, Any]:
        epochs = self.history["epochs"]
        best = next((e for e in epochs if e["epoch"] == self.best_epoch), {})
        start = next((e for e in epochs if e["epoch"] == 0), {})
        last = next((e for e in reversed(epochs) if "train_loss" in e), {})
        return {**{k: v for k, v in best.items() if k.startswith("dev_")},
                **{f"untrained_{k}": v for k, v in start.items() if k.startswith("dev_")},
                "improved": bool(self.best_epoch > 0 or not self.dev_users),
                "training_mode": self.config.training_mode,
                "best_epoch": self.best_epoch, "epochs": sum(1 for e in epochs if e["epoch"] > 0), "steps": steps,
                "train_loss": last.get("train_loss"), "temperature": self.steps.temperature,
                "train_users": len(self.step_users), "skipped_users": self.skipped_users,
                "dev_users": len(self.dev_users), "dev_from_train": self.dev_from_train,
                "pool_size": len(self.pool), "seconds": round(seconds, 2)}

    def _write_curves(self) -> None:
        assert self.output_dir is not None
        with translated_writes(self.output_dir):
            (self.output_dir / "training_curves.json").write_text(json.dumps(self.history, indent=1) + "\n")
            plot_training_curves(self.history, self.output_dir / "training_curves.png")
