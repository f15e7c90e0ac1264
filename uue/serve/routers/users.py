"""Users: look one up, ingest (write key), and the statement pool the page offers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from storage.errors import IngestError
from storage.records import InvalidRecord, validate_statement, validate_user
from storage.store import Store
from uue.serve.deps import get_store, require_api_key
from uue.serve.schemas import ERRORS, WRITE_ERRORS, IngestRequest

router = APIRouter(tags=["users"])


def _validated(request: IngestRequest) -> tuple[list, list]:
    """The request's records in the users.jsonl format, or ``IngestError`` naming the bad one."""
    users, pool = [], []
    for name, items, check in (("users", request.users, validate_user), ("statements", request.statements, None)):
        for i, item in enumerate(items):
            try:
                if check is not None:
                    users.append(check(item))
                else:
                    pool.append(validate_statement({"text": item} if isinstance(item, str) else item))
            except InvalidRecord as exc:
                raise IngestError(f"{name}[{i}]: {exc}; nothing was written") from None
    return users, pool


@router.post("/users", dependencies=[Depends(require_api_key)], responses=WRITE_ERRORS)
def ingest(request: IngestRequest, store: Annotated[Store, Depends(get_store)]) -> dict[str, int]:
    """Ingest users (and pool statements) in one transaction; a bad record writes nothing (`uue ingest`).

    A user that exists is replaced (upsert). New or changed users are served after the next
    index build (`POST /index/build`).
    """
    users, pool = _validated(request)
    return store.ingest(users, pool)


@router.get("/users/{user_id}", responses=ERRORS)
def show_user(user_id: Annotated[str, Path(min_length=1, max_length=512)],
              store: Annotated[Store, Depends(get_store)]) -> dict[str, Any]:
    """One user's metadata, traits, statements and chunks (`uue users show USER_ID --json`)."""
    pk, record = store.get_user(user_id)
    return {"id": pk, **record}


@router.get("/statements")
def statements(store: Annotated[Store, Depends(get_store)],
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[str]:
    """The statement pool (the first `limit`, by id): what the page offers to pick from."""
    return [text for _, text in store.statements()[:limit]]
