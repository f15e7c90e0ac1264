"""Synthetic users with planted topics for training tests: ``make_users``, the tiny
model's vocabulary (``words``) and a small ``config`` for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from uue.data.schema import UserChunk, UserData
from uue.model.config import ModelConfig

TOPICS = 8
FILLER = ["the", "a", "today", "really"]
STATEMENTS = {k: [f"likes s{k}x", f"is into s{k}y", f"talks about s{k}z"] for k in range(TOPICS)}
HELD_OUT = {"talks about s7z"}


def words() -> list[str]:
    out = FILLER + ["likes", "is", "into", "talks", "about"]
    for k in range(TOPICS):
        out += [f"t{k}w{j}" for j in range(8)] + [f"s{k}x", f"s{k}y", f"s{k}z"]
    return out


def make_users(n_per_topic: int, split: str, seed: int) -> list[UserData]:
    rng = np.random.default_rng(seed)
    users = []
    for k in range(TOPICS):
        for i in range(n_per_topic):
            chunks = []
            for _ in range(int(rng.integers(2, 6))):
                tokens = [f"t{k}w{j}" for j in rng.choice(8, 3, replace=False)] + list(rng.choice(FILLER, 2))
                chunks.append(UserChunk(" ".join(rng.permutation(tokens))))
            users.append(UserData(f"{split}-{k}-{i}", chunks, statements=list(STATEMENTS[k]), split=split,
                                  metadata={"topic": k}))
    return users


def config(bert_dir: Path, **kw) -> ModelConfig:
    base = dict(base_model_name=str(bert_dir), embedding_dim=32, batch_size=16, learning_rate=3e-3,
                temperature=0.1, num_epochs=6, num_negative_samples=2, train_chunks_per_user=3,
                num_chunks_per_user=6, max_chunk_length=16, max_statement_length=8, attention_heads=4, seed=7,
                training_mode="full")
    return ModelConfig(**{**base, **kw})
