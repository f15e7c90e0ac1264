"""Errors as JSON ``{"error": message, "status": code}`` with a status that fits; never a traceback.

- 404: an unknown user;
- 409: the workspace cannot answer yet (no model, no index, an index of another model,
  a user ingested after the last build): the message says which command to run;
- 422: bad input (a malformed or unknown filter, an empty statement, a bad ingest record,
  a request that does not follow the schema);
- 500: a bug: logged with its traceback on the server, a plain message to the client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from storage.errors import NotFound, UnknownUser, UUEError
from uue.search.results import StaleIndex

logger = logging.getLogger(__name__)


def error_response(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, **extra}, status_code=status)


def status_for(exc: UUEError) -> int:
    if isinstance(exc, UnknownUser):
        return 404
    if isinstance(exc, (StaleIndex, NotFound)):
        return 409
    return 422


async def _domain(request: Request, exc: UUEError) -> JSONResponse:
    return error_response(status_for(exc), str(exc))


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    response = error_response(exc.status_code, str(exc.detail))
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    first = details[0] if details else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(x) for x in first.get("loc", ()))
    return error_response(422, f"{where}: {first['msg']}" if where else first["msg"], detail=jsonable_encoder(details))


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    logger.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal server error (logged on the server)")


def install(app: FastAPI) -> None:
    app.add_exception_handler(UUEError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _internal)
