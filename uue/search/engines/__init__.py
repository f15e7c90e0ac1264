"""Build engines: ``local`` (default, in this process) and ``ray`` (a Ray cluster)."""

from __future__ import annotations

from typing import Any

from storage.errors import UUEError
from uue.search.engines.base import USER_BATCH, EmbeddingEngine, partitions

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "USER_BATCH", "EmbeddingEngine", "create_engine", "partitions"]


def create_engine(name: str = "local", **options: Any) -> EmbeddingEngine:
    """The engine called ``name``; ``options`` go to its constructor (``address``, ``workers``...)."""
    if name == "local":
        from uue.search.engines.local import LocalEngine

        if options.pop("address", None):
            raise UUEError("--address names a Ray cluster: use it with --engine ray")
        return LocalEngine(**options)
    if name == "ray":
        from uue.search.engines.ray_engine import RayEngine

        return RayEngine(**options)
    raise UUEError(f"unknown build engine {name!r}; expected one of {', '.join(ENGINES)}")
