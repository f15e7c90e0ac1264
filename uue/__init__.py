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
    "ModelConfig": "uue.config",
    "UserData": "uue.schema",
    "UserChunk": "uue.schema",
    "UniversalUserEmbeddingModel": "uue.model",
    "UniversalUserEmbeddingTrainer": "uue.train",
    "UniversalUserEmbeddingEvaluator": "uue.evaluator",
    "create_evaluation_report": "uue.report",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from uue.config import ModelConfig
    from uue.evaluator import UniversalUserEmbeddingEvaluator
    from uue.model import UniversalUserEmbeddingModel
    from uue.report import create_evaluation_report
    from uue.schema import UserChunk, UserData
    from uue.train import UniversalUserEmbeddingTrainer


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'uue' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
