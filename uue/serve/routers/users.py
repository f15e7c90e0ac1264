"""Users: list, look up, ingest and delete (the writes need the key); the statement pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from storage.errors import IngestError, UnknownUser
from storage.filters import UserFilter
from storage.records import InvalidRecord, validate_statement, validate_user
from storage.store import Store
from uue import operations
from uue.serve.deps import get_state, get_store, require_api_key, user_filter
from uue.serve.schemas import ERRORS, WRITE_ERRORS, DeleteRequest, IngestRequest
from uue.serve.state import ServeState

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

    `mode`: `replace` (a user that exists gets the history sent) or `append` (the chunks sent
    are added to the stored history; `uue ingest --append`). New or changed users are served
    after the next index build (`POST /index/build`).
    """
    users, pool = _validated(request)
    return store.ingest(users, pool, append=request.mode == "append")


@router.get("/users")
def list_users(store: Annotated[Store, Depends(get_store)], filters: Annotated[UserFilter, Depends(user_filter)],
               limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
               offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> dict[str, Any]:
    """Users passing the filters, `limit` from `offset` in id order, and their `total` (`uue users list`)."""
    return operations.list_users(store, filters, limit=limit, offset=offset)


def _delete(state: ServeState, user_ids: list[str]) -> dict[str, Any]:
    return operations.delete_users(state.store, user_ids, cache_dir=state.cache_dir)


@router.delete("/users/{user_id}", dependencies=[Depends(require_api_key)], responses={**WRITE_ERRORS, **ERRORS})
def delete_user(user_id: Annotated[str, Path(min_length=1, max_length=512)],
                state: Annotated[ServeState, Depends(get_state)]) -> dict[str, Any]:
    """Delete a user (`uue users delete USER_ID`): from this moment they are in no result;
    the next index build drops their vector."""
    result = _delete(state, [user_id])
    if result["unknown"]:
        raise UnknownUser(f"unknown user {user_id!r}: nothing deleted")
    return result


@router.post("/users/delete", dependencies=[Depends(require_api_key)], responses=WRITE_ERRORS)
def delete_users(request: DeleteRequest, state: Annotated[ServeState, Depends(get_state)]) -> dict[str, Any]:
    """Delete many users in one transaction; unknown ids are listed in `unknown`, not an error."""
    return _delete(state, request.user_ids)


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
