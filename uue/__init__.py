"""UUE — Universal User Embeddings: users and statements in one vector space.

``from uue import ModelConfig, UserData, UserChunk, UniversalUserEmbeddingTrainer,
UniversalUserEmbeddingEvaluator, create_evaluation_report``. Importing the package loads
nothing heavy: torch and the model code load on first use of a name that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "ModelConfig": "uue.model.config",
    "UserData": "uue.data.schema",
    "UserChunk": "uue.data.schema",
    "UniversalUserEmbeddingModel": "uue.model.dual_encoder",
    "UniversalUserEmbeddingTrainer": "uue.training.trainer",
    "UniversalUserEmbeddingEvaluator": "uue.model.inference",
    "create_evaluation_report": "uue.evaluation.report",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from uue.data.schema import UserChunk, UserData
    from uue.evaluation.report import create_evaluation_report
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.model.inference import UniversalUserEmbeddingEvaluator
    from uue.training.trainer import UniversalUserEmbeddingTrainer


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'uue' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
