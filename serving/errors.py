"""The service's one error format, ``{"error", "parameter"}``, and the handlers that turn every failure into it:
an unknown id or a route the service does not serve is a 404, a bad parameter a 422 naming it, a bundle still
loading a 503, anything unforeseen a 500 that says no more than that (the log has the traceback)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from recsys.bundle.reader import NotInBundle, UnknownId
from serving.headers import ALWAYS
from serving.live import NotReady
from serving.responses import Error

log = logging.getLogger(__name__)


class NotServed(LookupError):
    """The service was started without the kind of bundle a route reads (playlists or images): a 404."""


def error(status: int, message: str, parameter: str | None) -> JSONResponse:
    return JSONResponse(status_code=status, content=Error(error=message, parameter=parameter).model_dump())


def parameter_name(parts: tuple[str | int, ...]) -> str | None:
    """A place in the request as a client writes it: ``k``, ``users``, ``users[1]``, ``a.b``."""
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or None


def _parameter(location: tuple[str | int, ...]) -> str | None:
    """The parameter a validation error is about (its location without FastAPI's "query", "body", ...)."""
    return parameter_name(location[1:] if location and location[0] in ("query", "body", "path", "header") else location)


def explain_invalid(error: dict[str, Any]) -> tuple[int, str, str | None]:
    """Status, message and parameter for FastAPI's first validation error: a body that is not JSON is a 400 about
    the body (FastAPI reports the character offset as if it were a list index); a body that is JSON but not an
    object, or missing, names the body; anything else names its parameter."""
    location = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "not JSON")
        offset = f" at character {location[1]}" if len(location) > 1 else ""
        return 400, f"the request body is not valid JSON: {reason}{offset}", "body"
    if location == ("body",):
        what = "missing" if error.get("type") == "missing" else f"not a JSON object ({error['msg']})"
        return 422, f"the request body is {what}: send a JSON object with Content-Type: application/json", "body"
    parameter = _parameter(location)
    return 422, f"invalid parameter {parameter!r}: {error['msg']}", parameter


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(UnknownId)
    async def unknown_id(_: Request, exc: UnknownId) -> JSONResponse:
        return error(404, str(exc), exc.parameter)

    @app.exception_handler(NotInBundle)
    async def not_in_bundle(_: Request, exc: NotInBundle) -> JSONResponse:
        return error(422, f"invalid parameter 'model': {exc}", "model")

    @app.exception_handler(NotServed)
    async def not_served(_: Request, exc: NotServed) -> JSONResponse:
        return error(404, str(exc), None)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        """Routing's own answers (no such path, a method the path does not take) in the service's error format."""
        response = error(exc.status_code, str(exc.detail), None)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, exc: NotReady) -> JSONResponse:
        return error(503, str(exc), None)

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        status, message, parameter = explain_invalid(first)
        body = Error(error=message, parameter=parameter).model_dump()
        return JSONResponse(status_code=status, content={**body, "detail": jsonable_encoder(exc.errors())})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        response = error(500, "internal error", None)
        response.headers.update(ALWAYS)  # answered outside every middleware (Starlette's ServerErrorMiddleware)
        return response
