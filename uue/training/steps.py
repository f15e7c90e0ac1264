"""One optimisation step per training mode (``ModelConfig.training_mode``).

- ``locked`` (``LockedSteps``, the default by measurement: benchmarks/quality.py): the
  backbone is frozen and statements stay the pretrained encoder's vectors (a locked
  statement tower, Zhai et al., "LiT", 2022). Only the user side trains — attention
  pooling over the chunks and a zero-initialised residual adapter — on chunk vectors
  embedded once (through the chunk-vector cache), so a step costs a pooling, not a
  transformer pass. Each user is scored against the whole statement pool
  (``MultiPositiveInfoNCELoss``: every negative, the hardest included) and, with weight
  ``user_loss_weight``, against the batch's other users on two disjoint halves of their
  history (``UserContrastiveLoss``); users without statements train through that term.
  ``anchor_weight`` (0.3) times the cosine distance of each user vector from its
  pretrained one (the mean of its chunk vectors) keeps users where unseen statements
  can still find them.
- ``partial`` / ``full`` (``TextSteps``): chunks and statements go through the backbone
  with gradients — the top ``partial_layers`` layers, or all of it. Columns are the
  batch positives plus ``num_negative_samples`` per user from the sampler
  (``config.negatives``); the user–user term as above; and, in partial mode,
  ``anchor_weight`` times the mean cosine distance of the batch's statement vectors from
  their pretrained ones, which keeps the statement side in the language space that unseen
  statements need.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from uue.model.chunk_cache import ChunkVectorCache
from uue.model.dual_encoder import CHUNK_BLOCK, UniversalUserEmbeddingModel, autocast
from uue.model.losses import MultiPositiveInfoNCELoss, SymmetricInfoNCELoss, UserContrastiveLoss

logger = logging.getLogger(__name__)

LOCKED_MAX_CHUNKS = 256  # chunks per user kept for locked training (evenly spaced over the history)
_LAYER = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\.")


@dataclass
class TrainUser:
    texts: list[str]  # the history, oldest first
    positives: list[int]  # pool indices of the user's true statements (may be empty)
    positive_set: set[int]


def evenly_spaced(n: int, cap: int) -> np.ndarray:
    """At most ``cap`` indices of ``range(n)``, spread evenly (first and last included)."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


def split_halves(n: int, rng: np.random.Generator, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random samples (of at most ``cap`` each) of ``range(n)``, ``n >= 2``."""
    order = rng.permutation(n)
    half = min(n // 2, cap)
    return np.sort(order[:half]), np.sort(order[half:2 * half] if 2 * half <= n else order[half:])


def backbone_layer_count(model: UniversalUserEmbeddingModel) -> int:
    found = [int(m.group(1)) for name, _ in model.encoder.named_parameters() if (m := _LAYER.search(name))]
    return max(found) + 1 if found else 0


def freeze_for_mode(model: UniversalUserEmbeddingModel, mode: str, partial_layers: int) -> None:
    """Set ``requires_grad`` of the token encoder for the mode; the user side always trains."""
    if mode == "full":
        return
    layers = backbone_layer_count(model)
    if mode == "partial" and layers == 0:
        from uue.model.config import ConfigError

        raise ConfigError(f"training_mode 'partial' cannot find the layers of {model.config.base_model_name!r} "
                          "(no parameter named like layer.N / layers.N / h.N / block.N): use 'locked' or 'full'")
    for name, param in model.encoder.named_parameters():
        match = _LAYER.search(name)
        param.requires_grad = mode == "partial" and match is not None and int(match.group(1)) >= layers - partial_layers
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info("training mode %s: %d of %d parameters train", mode, trainable, sum(p.numel() for p in model.parameters()))


class LockedSteps:
    """Locked mode: fixed chunk and statement vectors, the user side trains."""

    def __init__(self, model: UniversalUserEmbeddingModel, pool: Sequence[str], config, cache: ChunkVectorCache | None,
                 show_progress: bool = False, known_statements: dict[str, np.ndarray] | None = None) -> None:
        self.model, self.config, self.cache, self.show_progress = model, config, cache, show_progress
        self.device = model.device
        self.users: Sequence[TrainUser] = []
        self.rows: list[np.ndarray] = []
        self.chunks = torch.zeros(0, model.encoder.hidden_size, device=self.device)
        # the pool's fixed vectors: read from the serving statement build where it holds them
        # (``known_statements``, same statement side), the rest encoded once
        known = known_statements or {}
        vectors = np.zeros((len(pool), model.embedding_dim), dtype=np.float32)
        missing = [i for i, text in enumerate(pool) if text not in known]
        for i, text in enumerate(pool):
            if text in known:
                vectors[i] = known[text]
        if missing:
            vectors[missing] = model.encode_statements([pool[i] for i in missing])
        self.reused_statements = len(pool) - len(missing)
        self.statements = torch.from_numpy(vectors).to(self.device)
        self.statement_loss = MultiPositiveInfoNCELoss(config.temperature, config.min_temperature,
                                                       config.max_temperature).to(self.device)
        self.user_loss = UserContrastiveLoss(config.temperature, config.min_temperature,
                                             config.max_temperature).to(self.device)

    def set_users(self, users: Sequence[TrainUser]) -> None:
        """The users steps index into from now on (a block): their chunk vectors (at most
        ``LOCKED_MAX_CHUNKS`` each) are read through the cache, the rest encoded, and held
        until the next block replaces them."""
        from tqdm.auto import tqdm

        self.users, self.rows = users, []
        self.chunks = torch.zeros(0, self.model.encoder.hidden_size, device=self.device)  # free the last block first
        texts: list[str] = []
        for user in users:
            keep = evenly_spaced(len(user.texts), LOCKED_MAX_CHUNKS)
            self.rows.append(np.arange(len(texts), len(texts) + len(keep)))
            texts.extend(user.texts[i] for i in keep)
        parts = []
        with tqdm(total=0, desc="chunk vectors", unit="text", disable=not self.show_progress, leave=False) as bar:
            for start in range(0, len(texts), CHUNK_BLOCK):  # bounded memory; each block lands in the cache
                parts.append(self.model.chunk_vectors(texts[start:start + CHUNK_BLOCK], cache=self.cache,
                                                      bar=bar).detach())
        self.chunks = torch.cat(parts) if parts else torch.zeros(0, self.model.encoder.hidden_size, device=self.device)
        logger.debug("locked training block: %d chunk vectors of %d users", len(texts), len(users))

    def loss_modules(self) -> list[torch.nn.Module]:
        return [self.statement_loss, self.user_loss]

    def step(self, batch: Sequence[int], rng: np.random.Generator) -> torch.Tensor:
        cfg = self.config
        cap = max(cfg.train_chunks_per_user * 32, 2)
        whole, first, second = [], [], []
        for i in batch:
            rows = self.rows[i]
            whole.append(rows if len(rows) <= cap else np.sort(rng.choice(rows, cap, replace=False)))
            if len(rows) >= 2:
                a, b = split_halves(len(rows), rng, cap // 2)
                first.append(rows[a])
                second.append(rows[b])
        labelled = [k for k, i in enumerate(batch) if self.users[i].positives]
        loss = torch.zeros((), device=self.device)
        if labelled:
            users = self.model.pool_users(self.chunks, [whole[k] for k in labelled])
            mask = torch.zeros(len(labelled), len(self.statements), dtype=torch.bool, device=self.device)
            for r, k in enumerate(labelled):
                mask[r, self.users[batch[k]].positives] = True
            loss = loss + self.statement_loss(users, self.statements, mask)
            if cfg.anchor_weight > 0:  # stay near the pretrained (mean-pooled) user vector: zero-shot lives there
                with torch.no_grad():
                    start = torch.stack([self.chunks[torch.as_tensor(whole[k], device=self.device)].mean(0)
                                         for k in labelled])
                    start = torch.nn.functional.normalize(self.model.projection(start), dim=-1)
                loss = loss + cfg.anchor_weight * (1 - (users * start).sum(-1)).mean()
        if cfg.user_loss_weight > 0 and len(first) >= 2:
            loss = loss + cfg.user_loss_weight * self.user_loss(self.model.pool_users(self.chunks, first),
                                                                self.model.pool_users(self.chunks, second))
        return loss

    @property
    def temperature(self) -> float:
        return self.statement_loss.temperature


class TextSteps:
    """Partial and full modes: texts through the backbone with gradients."""

    def __init__(self, model: UniversalUserEmbeddingModel, pool: Sequence[str], config, sampler, encode_pool) -> None:
        self.model, self.config, self.pool = model, config, pool
        self.users: Sequence[TrainUser] = []
        self.sampler, self.encode_pool = sampler, encode_pool
        self.device = model.device
        self.statement_loss = SymmetricInfoNCELoss(config.temperature, config.min_temperature,
                                                   config.max_temperature).to(self.device)
        self.user_loss = UserContrastiveLoss(config.temperature, config.min_temperature,
                                             config.max_temperature).to(self.device)
        # pretrained statement vectors: the anchor that keeps the statement side in place
        self.anchor = (torch.from_numpy(model.encode_statements(list(pool))).to(self.device)
                       if config.training_mode == "partial" and config.anchor_weight > 0 else None)

    def set_users(self, users: Sequence[TrainUser]) -> None:
        """The users steps index into from now on (a block)."""
        self.users = users

    def loss_modules(self) -> list[torch.nn.Module]:
        return [self.statement_loss, self.user_loss]

    def _sample_texts(self, texts: list[str], k: int, rng: np.random.Generator) -> list[str]:
        if len(texts) <= k:
            return texts
        return [texts[i] for i in np.sort(rng.choice(len(texts), k, replace=False))]

    def step(self, batch: Sequence[int], rng: np.random.Generator, epoch: int, step: int) -> torch.Tensor:
        cfg = self.config
        labelled = [i for i in batch if self.users[i].positives]
        loss = torch.zeros((), device=self.device)
        if len(labelled) >= 1:
            users = [self.users[i] for i in labelled]
            histories = [self._sample_texts(u.texts, cfg.train_chunks_per_user, rng) for u in users]
            columns = [u.positives[int(rng.integers(len(u.positives)))] for u in users]
            self.sampler.refresh(self.encode_pool, step, epoch)
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
            loss = loss + self.statement_loss(user_vectors, statement_vectors, mask)
            if self.anchor is not None:
                anchor = self.anchor[torch.tensor(columns, device=self.device)]
                loss = loss + cfg.anchor_weight * (1 - (statement_vectors.float() * anchor).sum(-1)).mean()
        pairs = [i for i in batch if len(self.users[i].texts) >= 2]
        if cfg.user_loss_weight > 0 and len(pairs) >= 2:
            first, second = [], []
            for i in pairs:
                texts = self.users[i].texts
                a, b = split_halves(len(texts), rng, max(1, cfg.train_chunks_per_user // 2))
                first.append([texts[j] for j in a])
                second.append([texts[j] for j in b])
            with autocast(self.device):
                loss = loss + cfg.user_loss_weight * self.user_loss(self.model.forward_users(first),
                                                                    self.model.forward_users(second))
        return loss

    @property
    def temperature(self) -> float:
        return self.statement_loss.temperature
