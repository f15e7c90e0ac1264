"""Training of the dual encoder: batches, negatives, optimisation, dev metrics, checkpoints.

Data handling:

- The statement pool is ``statement_pool`` plus every training user's statements,
  minus ``held_out`` (exact texts after stripping). Held-out statements are also
  dropped from the users' positives (train and dev), so they never reach training or
  model selection. Users left with no statements are skipped (counted in the metrics).
- Each step takes ``batch_size`` users; per user a random sample of
  ``train_chunks_per_user`` chunks and one random positive statement; the columns of the
  loss are the batch positives plus ``num_negative_samples`` negatives per user from the
  sampler (``config.negatives``; options from ``config.extra["sampler_options"]``).

Layout of ``output_dir``: the final (best on dev Recall@10) model at the root,
``checkpoint-epoch-N/`` per epoch (model + ``training_state.pt``), and
``training_curves.json`` / ``.png``.

Resuming (``--resume``) continues exactly: the checkpoint's ``config.json`` is the
config (only ``num_epochs`` may grow, which stretches the learning-rate schedule), and
``training_state.pt`` holds, besides optimizer, scheduler and RNG states, what else the
run was started with (``max_users``) and a fingerprint of its training data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, load_model
from tqdm.auto import tqdm

from storage.errors import UUEError
from uue.data.schema import UserData
from uue.evaluation.metrics import recall_at_k
from uue.model.config import ModelConfig
from uue.model.dual_encoder import WEIGHTS_FILE, UniversalUserEmbeddingModel, autocast, default_device
from uue.model.loss import SymmetricInfoNCELoss
from uue.training.checkpoint import (
    STATE_FILE,
    config_conflicts,
    read_checkpoint,
    rng_state,
    seed_everything,
    set_rng_state,
    weights_checksum,
)
from uue.training.negatives import NegativeSampler, create_sampler

logger = logging.getLogger(__name__)

BEST_FILE = "best_epoch.json"
RECALL_K = 10


@dataclass
class _User:
    texts: list[str]
    positives: list[int]  # pool indices
    positive_set: set[int]


class UniversalUserEmbeddingTrainer:
    """Trains a ``UniversalUserEmbeddingModel``; ``train()`` returns the final metrics."""

    def __init__(self, config: ModelConfig, train_data: list[UserData], eval_data: list[UserData],
                 statement_pool: list[str], output_dir: str | Path | None = None,
                 sampler: NegativeSampler | None = None, held_out: set[str] | None = None,
                 model: UniversalUserEmbeddingModel | None = None, device: str | torch.device | None = None,
                 show_progress: bool = True, run_info: dict[str, Any] | None = None) -> None:
        self.config = config
        #: JSON-safe facts about how the run was started, kept in checkpoints (e.g. ``max_users``)
        self.run_info = dict(run_info or {})
        self.show_progress = show_progress
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.held_out = {s.strip() for s in (held_out or ())}
        texts = [s.strip() for s in statement_pool] + [s.strip() for u in train_data for s in u.statements]
        self.pool = [t for t in dict.fromkeys(texts) if t and t not in self.held_out]
        self.pool_index = {t: i for i, t in enumerate(self.pool)}
        self.train_users = self._users(train_data, self.pool_index)
        self.skipped_users = len(train_data) - len(self.train_users)
        if not self.train_users:
            raise UUEError("no training user has a (non-held-out) statement: nothing to learn from; "
                           "ingest users with 'statements'")
        dev_texts = [s.strip() for u in eval_data for s in u.statements]
        self.dev_pool = [t for t in dict.fromkeys(dev_texts) if t not in self.held_out]
        self.dev_users = self._users(eval_data, {t: i for i, t in enumerate(self.dev_pool)})
        if self.skipped_users:
            logger.info("skipping %d training users without statements", self.skipped_users)
        self.data_fingerprint = self._fingerprint()

        seed_everything(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.device = torch.device(device) if device is not None else default_device()
        self.model = (model or UniversalUserEmbeddingModel.from_config(config)).to(self.device)
        self.loss_fn = SymmetricInfoNCELoss(config.temperature, config.min_temperature,
                                            config.max_temperature).to(self.device)
        self.sampler = sampler or create_sampler(config.negatives, self.pool,
                                                 **dict(config.extra.get("sampler_options", {})))
        self.steps_per_epoch = math.ceil(len(self.train_users) / config.batch_size)
        self.optimizer, self.scheduler = self._optimizer()
        self.history: dict[str, list] = {"step_loss": [], "temperature": [], "epochs": []}
        self.best_metric = -math.inf
        self.best_epoch = 0
        self._best_state: dict[str, torch.Tensor] | None = None

    @staticmethod
    def _users(data: Sequence[UserData], index: dict[str, int]) -> list[_User]:
        out = []
        for user in data:
            positives = list(dict.fromkeys(index[s.strip()] for s in user.statements if s.strip() in index))
            if positives and user.chunks:
                out.append(_User([c.text for c in user.chunks], positives, set(positives)))
        return out

    def _fingerprint(self) -> str:
        """A hash of what training sees (pool, users' chunks and positives, dev set), to check on resume."""
        h = hashlib.sha256()
        for part in (self.pool, self.dev_pool):
            h.update(json.dumps(part).encode("utf-8"))
        for users in (self.train_users, self.dev_users):
            h.update(str(len(users)).encode())
            for u in users:
                h.update(json.dumps([u.texts, u.positives]).encode("utf-8"))
        return h.hexdigest()

    def _optimizer(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        cfg = self.config
        decay, no_decay = [], []
        for name, param in self.model.named_parameters():
            (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
        temperature_lr = float(cfg.extra.get("temperature_learning_rate", max(cfg.learning_rate, 1e-3)))
        optimizer = torch.optim.AdamW([
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
            {"params": list(self.loss_fn.parameters()), "weight_decay": 0.0, "lr": temperature_lr},
        ], lr=cfg.learning_rate)
        total = max(1, self.steps_per_epoch * cfg.num_epochs)
        warmup = int(math.ceil(cfg.warmup_ratio * total))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    # ---- one step ---------------------------------------------------------------------

    def _step(self, batch: Sequence[int], epoch: int, step: int) -> float:
        cfg, rng = self.config, self.rng
        users = [self.train_users[i] for i in batch]
        histories = []
        for u in users:
            if len(u.texts) <= cfg.train_chunks_per_user:
                histories.append(u.texts)
            else:
                pick = np.sort(rng.choice(len(u.texts), cfg.train_chunks_per_user, replace=False))
                histories.append([u.texts[i] for i in pick])
        columns = [u.positives[int(rng.integers(len(u.positives)))] for u in users]
        self.sampler.refresh(self._encode_pool, step, epoch)
        with autocast(self.device):
            user_vectors = self.model.forward_users(histories)
        vectors = user_vectors.detach().float().cpu().numpy() if self.sampler.needs_user_vectors else None
        negatives = self.sampler.sample([u.positive_set for u in users], cfg.num_negative_samples, vectors, rng)
        seen = set(columns)
        for row in negatives:
            for j in row:
                if j not in seen:
                    seen.add(j)
                    columns.append(int(j))
        mask = torch.tensor([[c in u.positive_set for c in columns] for u in users], device=self.device)
        with autocast(self.device):
            statement_vectors = self.model.forward_statements([self.pool[c] for c in columns])
        loss = self.loss_fn(user_vectors, statement_vectors, mask)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(self.model.parameters()) + list(self.loss_fn.parameters()),
                                       cfg.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())

    def _encode_pool(self, texts: list[str]) -> np.ndarray:
        return self.model.encode_statements(texts, batch_size=max(64, self.config.batch_size))

    # ---- dev metrics ----------------------------------------------------------------

    def evaluate(self) -> dict[str, float]:
        """Dev in-batch accuracy (first statement vs the batch's) and Recall@10 in the dev pool."""
        if not self.dev_users:
            return {}
        users = self.model.encode_users([u.texts for u in self.dev_users])
        statements = self.model.encode_statements(self.dev_pool)
        scores = users @ statements.T
        hits = []
        for s in range(0, len(self.dev_users), self.config.batch_size):
            batch = self.dev_users[s:s + self.config.batch_size]
            cols = [u.positives[0] for u in batch]
            best = np.argmax(scores[s:s + len(batch)][:, cols], axis=1)
            hits += [cols[b] in u.positive_set for b, u in zip(best, batch)]
        return {"dev_in_batch_accuracy": float(np.mean(hits)),
                f"dev_recall@{RECALL_K}": recall_at_k(scores, [u.positives for u in self.dev_users], RECALL_K)}

    # ---- checkpoints ------------------------------------------------------------------

    def _save_checkpoint(self, epoch: int, step: int) -> Path:
        assert self.output_dir is not None
        directory = self.output_dir / f"checkpoint-epoch-{epoch}"
        self.model.save_pretrained(directory)
        state = {"epoch": epoch, "step": step, "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "loss": self.loss_fn.state_dict(),
                 "rng": rng_state(self.rng), "history": json.dumps(self.history),
                 "best_metric": float(self.best_metric), "best_epoch": int(self.best_epoch),
                 "config": json.dumps(self.config.to_dict()),
                 "run": json.dumps({**self.run_info, "data": self.data_fingerprint})}
        torch.save(state, directory / STATE_FILE)
        return directory

    def _load_checkpoint(self, directory: Path) -> tuple[int, int]:
        checkpoint = read_checkpoint(directory, map_location=self.device)
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
            self.loss_fn.load_state_dict(state["loss"])
            self.history = json.loads(state["history"])
            self.best_metric, self.best_epoch = state["best_metric"], state["best_epoch"]
        except Exception as exc:  # size mismatch, missing keys, corrupt weights file
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

    # ---- the loop ---------------------------------------------------------------------

    def train(self, resume_from: str | Path | None = None) -> dict[str, Any]:
        cfg = self.config
        start_epoch, step = self._load_checkpoint(Path(resume_from)) if resume_from else (0, 0)
        started = time.perf_counter()
        self.model.train()
        logger.info("training on %d users (%d skipped), pool of %d statements, %d dev users, device %s",
                    len(self.train_users), self.skipped_users, len(self.pool), len(self.dev_users), self.device)
        for epoch in range(start_epoch, cfg.num_epochs):
            order = self.rng.permutation(len(self.train_users))
            losses = []
            with tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.num_epochs}", unit="step",
                      disable=not self.show_progress) as bar:
                for s in range(0, len(order), cfg.batch_size):
                    loss = self._step(order[s:s + cfg.batch_size].tolist(), epoch, step)
                    step += 1
                    losses.append(loss)
                    self.history["step_loss"].append(loss)
                    self.history["temperature"].append(self.loss_fn.temperature)
                    bar.set_postfix(loss=f"{loss:.3f}", temp=f"{self.loss_fn.temperature:.3f}")
                    bar.update()
            record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), **self.evaluate()}
            self.history["epochs"].append(record)
            logger.info("epoch %d: %s", epoch + 1, record)
            metric = record.get(f"dev_recall@{RECALL_K}", -record["train_loss"])
            if metric >= self.best_metric:  # ties: the later (longer trained) epoch
                self.best_metric, self.best_epoch = metric, epoch + 1
                self._remember_best()
                if self.output_dir is not None:
                    self.model.save_pretrained(self.output_dir)
                    (self.output_dir / BEST_FILE).write_text(json.dumps({"epoch": epoch + 1}))
            if self.output_dir is not None:
                self._save_checkpoint(epoch + 1, step)
            self.model.train()
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)
        self.model.eval()
        if self.output_dir is not None:
            self.model.save_pretrained(self.output_dir)
            self._write_curves()
        return self._final_metrics(step, time.perf_counter() - started)

    def _final_metrics(self, steps: int, seconds: float) -> dict[str, Any]:
        best = next((e for e in self.history["epochs"] if e["epoch"] == self.best_epoch), {})
        last = self.history["epochs"][-1] if self.history["epochs"] else {}
        return {**{k: v for k, v in best.items() if k.startswith("dev_")},
                "best_epoch": self.best_epoch, "epochs": len(self.history["epochs"]), "steps": steps,
                "train_loss": last.get("train_loss"), "temperature": self.loss_fn.temperature,
                "train_users": len(self.train_users), "skipped_users": self.skipped_users,
                "dev_users": len(self.dev_users), "pool_size": len(self.pool), "seconds": round(seconds, 2)}

    def _write_curves(self) -> None:
        assert self.output_dir is not None
        (self.output_dir / "training_curves.json").write_text(json.dumps(self.history, indent=1) + "\n")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 3.5))
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2)
        left.plot(self.history["step_loss"], lw=1)
        left.set(title="training loss", xlabel="step", ylabel="InfoNCE")
        epochs = [e["epoch"] for e in self.history["epochs"]]
        recall = [e.get(f"dev_recall@{RECALL_K}", float("nan")) for e in self.history["epochs"]]
        right.plot(epochs, recall, marker="o")
        right.set(title=f"dev Recall@{RECALL_K}", xlabel="epoch", ylim=(0, 1))
        fig.tight_layout()
        fig.savefig(self.output_dir / "training_curves.png", dpi=100)


def train_from_store(store: Any, config: ModelConfig, output_dir: str | Path, *, resume_from: str | Path | None = None,
                     max_users: int | None = None, show_progress: bool = True) -> tuple[Path, dict[str, Any]]:
    """Train on the store's train split (dev split for model selection) and register the model.

    The pool is the store's non-held-out statements; held-out ones are dropped from the
    users' positives. Returns the model directory and the final metrics.
    """
    if store.count_users(split="train") == 0:
        raise UUEError("no training users in the store: run `uue ingest USERS.jsonl` first")
    limit = max_users if max_users and max_users > 0 else None
    if resume_from is not None:
        saved = read_checkpoint(resume_from).run
        if "max_users" in saved:
            if max_users is None:
                limit = saved["max_users"]
            elif limit != saved["max_users"]:
                raise UUEError(f"cannot resume {resume_from} exactly: it was trained with max_users "
                               f"{saved['max_users']}, not {limit} (leave --max-users out on resume)")

    def load(split: str) -> list[UserData]:
        users = []
        for _, record in store.iter_users(split=split):
            users.append(UserData.from_record(record))
            if limit is not None and len(users) >= limit:
                break
        return users

    pool = [text for _, text in store.statements(held_out=False)]
    held_out = {text for _, text in store.statements(held_out=True)}
    trainer = UniversalUserEmbeddingTrainer(config, load("train"), load("dev"), pool, output_dir=output_dir,
                                            held_out=held_out, show_progress=show_progress,
                                            run_info={"max_users": limit})
    metrics = trainer.train(resume_from=resume_from)
    path = Path(output_dir).resolve()
    store.register_model(str(path), config.base_model_name, trainer.model.embedding_dim, metrics,
                         checksum=weights_checksum(path))
    return path, metrics
