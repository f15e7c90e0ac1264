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
- Model selection: on the dev users, or, when there are none, on a deterministic slice
  of the training users (1 in 10 by a hash of ``user_id``) held back from training. The
  untrained starting point is scored as epoch 0; the best epoch by ``dev_selection``
  (``uue.training.selection``) is the model — epoch 0 included, in which case
  ``metrics["improved"]`` is False and a warning says training made things worse.

Layout of ``output_dir``: the best model at the root (``best_epoch.json`` names its
epoch), ``checkpoint-epoch-N/`` for the last ``save_total_limit`` epochs (model +
``training_state.pt``; older ones are deleted once a newer one is written), and
``training_curves.json`` / ``.png``.

Resuming (``--resume``) continues exactly: the checkpoint's ``config.json`` is the
config (only ``num_epochs`` and ``save_total_limit`` may change), and
``training_state.pt`` holds, besides optimizer, scheduler and RNG states, what else the
run was started with (``max_users``) and a fingerprint of its training data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, load_model
from tqdm.auto import tqdm

from storage.errors import UUEError
from storage.failures import translated_writes
from uue.data.schema import UserData
from uue.model.chunk_cache import ChunkVectorCache
from uue.model.config import ModelConfig
from uue.model.dual_encoder import WEIGHTS_FILE, UniversalUserEmbeddingModel, default_device
from uue.training.checkpoint import (
    STATE_FILE,
    config_conflicts,
    read_checkpoint,
    rng_state,
    seed_everything,
    set_rng_state,
)
from uue.training.negatives import NegativeSampler, create_sampler
from uue.training.plots import plot_training_curves
from uue.training.selection import dev_metrics, in_dev_slice
from uue.training.steps import LockedSteps, TextSteps, TrainUser, freeze_for_mode

logger = logging.getLogger(__name__)

BEST_FILE = "best_epoch.json"
CHECKPOINT_PREFIX = "checkpoint-epoch-"
SELECTION_METRIC = "dev_selection"


class UniversalUserEmbeddingTrainer:
    """Trains a ``UniversalUserEmbeddingModel``; ``train()`` returns the final metrics."""

    def __init__(self, config: ModelConfig, train_data: list[UserData], eval_data: list[UserData],
                 statement_pool: list[str], output_dir: str | Path | None = None,
                 sampler: NegativeSampler | None = None, held_out: set[str] | None = None,
                 model: UniversalUserEmbeddingModel | None = None, device: str | torch.device | None = None,
                 show_progress: bool = True, run_info: dict[str, Any] | None = None,
                 chunk_cache: ChunkVectorCache | None = None,
                 known_statements: dict[str, np.ndarray] | None = None) -> None:
        config = config.resolved()
        self.config = config
        #: JSON-safe facts about how the run was started, kept in checkpoints (e.g. ``max_users``)
        self.run_info = dict(run_info or {})
        self.show_progress = show_progress
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.held_out = {s.strip() for s in (held_out or ())}
        if not eval_data and len(train_data) >= 10:
            eval_data = [u for u in train_data if in_dev_slice(u.user_id)]
            train_data = [u for u in train_data if not in_dev_slice(u.user_id)]
            logger.info("no dev users: %d training users held back for model selection", len(eval_data))
        self.dev_from_train = bool(eval_data) and all(u.split != "dev" for u in eval_data)
        texts = [s.strip() for s in statement_pool] + [s.strip() for u in train_data for s in u.statements]
        self.pool = [t for t in dict.fromkeys(texts) if t and t not in self.held_out]
        self.pool_index = {t: i for i, t in enumerate(self.pool)}
        everyone = self._users(train_data, self.pool_index)
        self.train_users = [u for u in everyone if u.positives]
        self.unlabelled_users = [u for u in everyone if not u.positives]
        self.skipped_users = len(train_data) - len(self.train_users)
        if not self.train_users and (config.user_loss_weight == 0 or not self.unlabelled_users):
            raise UUEError("no training user has a (non-held-out) statement: nothing to learn from; "
                           "ingest users with 'statements'")
        # users a step draws from: the labelled ones, plus the rest when the user-user term is on
        self.step_users = self.train_users + (self.unlabelled_users if config.user_loss_weight > 0 else [])
        dev_texts = [s.strip() for u in eval_data for s in u.statements]
        self.dev_pool = [t for t in dict.fromkeys(dev_texts) if t not in self.held_out]
        self.dev_users = self._users(eval_data, {t: i for i, t in enumerate(self.dev_pool)})
        if self.skipped_users:
            logger.info("%d training users have no statement: they train the user-user term only", self.skipped_users)
        self.data_fingerprint = self._fingerprint()

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
            self.steps: LockedSteps | TextSteps = LockedSteps(self.model, self.step_users, self.pool, config,
                                                              self.chunk_cache, show_progress, known_statements)
        else:
            self.steps = TextSteps(self.model, self.step_users, self.pool, config, sampler, self._encode_pool)
        self.sampler = sampler
        self.steps_per_epoch = max(1, math.ceil(len(self.step_users) / config.batch_size))
        self.optimizer, self.scheduler = self._optimizer()
        self.history: dict[str, list] = {"step_loss": [], "temperature": [], "epochs": []}
        self.best_metric = -math.inf
        self.best_epoch = 0
        self._best_state: dict[str, torch.Tensor] | None = None
        self._dev_statements: np.ndarray | None = None  # locked mode: fixed, encoded once

    @property
    def loss_fn(self) -> torch.nn.Module:
        """The statement-side loss (its ``temperature`` is the one reported)."""
        return self.steps.statement_loss

    @staticmethod
    def _users(data: Sequence[UserData], index: dict[str, int]) -> list[TrainUser]:
        out = []
        for user in data:
            positives = list(dict.fromkeys(index[s.strip()] for s in user.statements if s.strip() in index))
            if user.chunks:
                out.append(TrainUser(user.texts, positives, set(positives)))
        return out

    def _fingerprint(self) -> str:
        """A hash of what training sees (pool, users' chunks and positives, dev set), to check on resume."""
        h = hashlib.sha256()
        for part in (self.pool, self.dev_pool):
            h.update(json.dumps(part).encode("utf-8"))
        for users in (self.step_users, self.dev_users):
            h.update(str(len(users)).encode())
            for u in users:
                h.update(json.dumps([u.texts, u.positives]).encode("utf-8"))
        return h.hexdigest()

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

    # ---- checkpoints ------------------------------------------------------------------

    def _save_checkpoint(self, epoch: int, step: int) -> Path:
        assert self.output_dir is not None
        directory = self.output_dir / f"{CHECKPOINT_PREFIX}{epoch}"
        with translated_writes(directory):
            self._write_checkpoint(directory, epoch, step)
        self._prune_checkpoints(epoch)
        return directory

    def _write_checkpoint(self, directory: Path, epoch: int, step: int) -> None:
        self.model.save_pretrained(directory)
        state = {"epoch": epoch, "step": step, "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(),
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

    def _prune_checkpoints(self, current: int) -> None:
        """Keep the newest ``save_total_limit`` checkpoints (the best model lives at the root)."""
        assert self.output_dir is not None
        found = sorted((int(p.name[len(CHECKPOINT_PREFIX):]), p) for p in self.output_dir.glob(f"{CHECKPOINT_PREFIX}*")
                       if p.name[len(CHECKPOINT_PREFIX):].isdigit() and (p / STATE_FILE).is_file())
        # only this run's epochs so far: a later epoch left by an earlier run (resumed from before it) is
        # overwritten when this run gets there, and never counts as "newer" than the one just written
        found = [(n, p) for n, p in found if n <= current]
        for _, old in found[:-self.config.save_total_limit]:
            logger.info("removing old checkpoint %s (save_total_limit %d)", old, self.config.save_total_limit)
            shutil.rmtree(old, ignore_errors=True)

    def _load_checkpoint(self, directory: Path) -> tuple[int, int]:
        # on the CPU: RNG states must be CPU tensors; the optimizer moves its state to the parameters' device
        checkpoint = read_checkpoint(directory, map_location="cpu")
        state, epoch = checkpoint.state, checkpoint.epoch
        conflicts = config_conflicts(checkpoint.config, self.config)
        if conflicts:
            raise UUEError(f"cannot resume {directory} exactly: " + "; ".join(conflicts) +
                           " (resume with the checkpoint's config; only num_epochs may change)")
        if self.config.num_epochs < epoch:
            raise UUEError(f"{directory} has already trained {epoch} epochs: num_epochs (--epochs) must be at "
                           f"least {epoch}, not {self.config.num_epochs}")
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
        if self.best_epoch == epoch:
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
        logger.info("resumed from %s (epoch %d, step %d)", directory, epoch, state["step"])
        return epoch, int(state["step"])

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

    # ---- the loop ---------------------------------------------------------------------

    def train(self, resume_from: str | Path | None = None) -> dict[str, Any]:
        cfg = self.config
        start_epoch, step = self._load_checkpoint(Path(resume_from)) if resume_from else (0, 0)
        started = time.perf_counter()
        logger.info("training (%s) on %d users (%d without statements), pool of %d statements, %d dev users, "
                    "device %s", cfg.training_mode, len(self.step_users), self.skipped_users, len(self.pool),
                    len(self.dev_users), self.device)
        if start_epoch == 0 and self.dev_users:  # the untrained starting point, scored like every epoch
            record = {"epoch": 0, **self.evaluate()}
            self.history["epochs"].append(record)
            logger.info("epoch 0 (untrained): %s", record)
            self._consider(record, 0)
        self.model.train()
        for epoch in range(start_epoch, cfg.num_epochs):
            order = self.rng.permutation(len(self.step_users))
            losses = []
            with tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.num_epochs}", unit="step",
                      disable=not self.show_progress) as bar:
                for s in range(0, len(order), cfg.batch_size):
                    batch = order[s:s + cfg.batch_size].tolist()
                    loss = self._step(batch, epoch, step)
                    step += 1
                    losses.append(loss)
                    self.history["step_loss"].append(loss)
                    self.history.setdefault("step_users", []).append(len(batch))  # plots: a small last batch
                    self.history["temperature"].append(self.steps.temperature)
                    bar.set_postfix(loss=f"{loss:.3f}", temp=f"{self.steps.temperature:.3f}")
                    bar.update()
            record = {"epoch": epoch + 1, "steps": step, "train_loss": float(np.mean(losses)), **self.evaluate()}
            self.history["epochs"].append(record)
            logger.info("epoch %d: %s", epoch + 1, record)
            self._consider(record, epoch + 1)
            if self.output_dir is not None:
                self._save_checkpoint(epoch + 1, step)
            self.model.train()
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)
        self.model.eval()
        if self.best_epoch == 0 and self.dev_users:
            logger.warning("training did not improve on the untrained starting point on the dev users (%s "
                           "%.4f): the model kept is the starting point", SELECTION_METRIC, self.best_metric)
        if self.output_dir is not None:
            self.model.save_pretrained(self.output_dir)
            self._write_curves()
        return self._final_metrics(step, time.perf_counter() - started)

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
