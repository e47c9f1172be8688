"""JSON request bodies read strictly, once, before FastAPI validates them.

Python's json module reads NaN, Infinity and -Infinity, which JSON does not have, and reads 1e999 as infinity.
FastAPI would then echo such a value in its validation error, which cannot be written as JSON: a 500, and the
keep-alive connection dropped. Here such a number is a 422 naming its field. A body that is not UTF-8, or is
nested deeper than the parser follows, is "not valid JSON" (a 400 about the body), like any other unreadable JSON,
instead of FastAPI's anonymous "error parsing the body".
"""

from __future__ import annotations

import email.message
import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from fastapi.routing import APIRoute


def parse(body: bytes) -> Any:
    """The body as JSON; json.JSONDecodeError (FastAPI's "not valid JSON") for any body that cannot be read."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"not UTF-8 text ({exc.reason})", "", exc.start) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested deeper than the parser follows", text, 0) from None


def non_finite(value: Any) -> tuple[str | int, ...] | None:
    """Where the first NaN or infinite number of a parsed body is (keys and list positions), or None."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while pending:
        path, current = pending.pop()
        if isinstance(current, float) and not math.isfinite(current):
            return path
        children = (
            current.items() if isinstance(current, dict) else enumerate(current) if isinstance(current, list) else ()
        )
        pending.extend(reversed([((*path, key), child) for key, child in children]))
    return None


def is_json(content_type: str | None) -> bool:
    """The content types FastAPI reads a body as JSON for: application/json and application/*+json."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class StrictJSONRequest(Request):
    """A request whose JSON body is parsed by ``parse``, once."""

    async def json(self) -> Any:
        if not hasattr(self, "_parsed"):
            self._parsed = parse(await self.body())
        return self._parsed


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is read by StrictJSONRequest, and refused with a 422 naming the field that holds a
    non-finite number (FastAPI's custom-route pattern). Form bodies (uploads) are left to FastAPI, unread here."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_json = self.body_field is not None and not isinstance(self.body_field.field_info, Form)

        async def strict(request: Request) -> Response:
            request = StrictJSONRequest(request.scope, request.receive)
            if reads_json and is_json(request.headers.get("content-type")) and await request.body():
                try:
                    where = non_finite(await request.json())
                except json.JSONDecodeError:
                    where = None  # FastAPI reads it again and answers that it is not valid JSON
                if where is not None:
                    message = "Input should be a finite number (NaN, Infinity and numbers out of range are not JSON)"
                    raise RequestValidationError([{"type": "finite_number", "loc": ("body", *where), "msg": message}])
            return await handler(request)

        return strict
