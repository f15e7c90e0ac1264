"""The trained models registered in the store: list them, make one the active model.

Queries always embed with the active model and refuse index builds made with another
(``uue.search.queries``), so activating an older model (a roll-back) takes effect for
queries after the next ``uue index build``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from storage.errors import NotFound, UUEError
from storage.store import Store
from storage.tables import IndexBuild, TrainedModel


def list_models(store: Store) -> list[dict[str, Any]]:
    """Every registered model, oldest first: id, path, base model, dimension, created,
    active, whether its weights are on disk, its index builds, its training metrics."""
    with store.session() as s:
        rows = list(s.scalars(select(TrainedModel).order_by(TrainedModel.id)))
        builds = dict(s.execute(select(IndexBuild.model_id, func.count()).group_by(IndexBuild.model_id)).all())
        serving = dict(s.execute(select(IndexBuild.kind, IndexBuild.model_id).where(IndexBuild.active.is_(True))).all())
    return [{"id": r.id, "path": r.path, "base_model": r.base_model, "embedding_dim": r.embedding_dim,
             "created": r.created_at.isoformat(timespec="seconds"), "active": bool(r.active),
             "on_disk": (Path(r.path) / "model.safetensors").is_file(), "index_builds": builds.get(r.id, 0),
             "serving": [kind for kind in ("users", "statements") if serving.get(kind) == r.id],
             "metrics": dict(r.metrics or {})} for r in rows]


def activate_model(store: Store, model_id: int) -> dict[str, Any]:
    """Make model ``model_id`` the active one (e.g. roll back to an earlier model).

    Refuses a model whose weights are no longer on disk. Returns the model's entry of
    ``list_models``; its ``serving`` list is empty until an index build with it.
    """
    with store.session() as s:
        row = s.get(TrainedModel, int(model_id))
        if row is None:
            known = ", ".join(str(i) for i in s.scalars(select(TrainedModel.id).order_by(TrainedModel.id)))
            raise NotFound(f"unknown model #{model_id}; registered: {known or 'none (run `uue train`)'} "
                           "(see `uue models list`)")
        weights = Path(row.path) / "model.safetensors"
        if not weights.is_file():
            raise UUEError(f"model #{model_id}'s weights {weights} are missing: it cannot be activated; "
                           "pick another (see `uue models list`) or train again")
        s.execute(update(TrainedModel).values(active=False))
        row.active = True
    return next(m for m in list_models(store) if m["id"] == int(model_id))
