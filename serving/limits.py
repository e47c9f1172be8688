"""What a request may cost: a cap on request bodies, applied before anything parses them (FastAPI spools a
multipart upload whole first), and what an image upload may be under the service's memory budget."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recsys.images.decode import Limits, budgeted
from recsys.settings import Settings


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware: a request whose body exceeds ``max_bytes`` (or its path's entry in ``per_path``)
    gets 413 with the usual JSON error, from its Content-Length before a byte is read, or as soon as a chunked
    body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.per_path = app, max_bytes, per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.per_path.get(scope["path"], self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await self._refuse(send, limit)
        seen, started, too_large = 0, False, False

        async def counted() -> Message:
            nonlocal seen, too_large
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                too_large = True
                raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if too_large:  # the app caught BodyTooLarge while parsing (FastAPI answers 400): the answer is 413
                if not started and message["type"] == "http.response.start":
                    started = True
                    await self._refuse(send, limit)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps({"error": f"request body is over the limit of {limit:,} bytes", "parameter": None})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})


def upload_limits(settings: Settings) -> Limits:
    """What an upload may be: the job's byte cap, and the pixel cap the job's and the upload memory budget allow
    (ValueError naming the settings where the budget allows none)."""
    serving, images = settings.serving, settings.images
    try:
        return budgeted(
            Limits(images.max_bytes, images.max_pixels), serving.upload_memory_mb << 20, serving.upload_decodes
        )
    except ValueError as exc:
        raise ValueError(f"serving.upload_memory_mb={serving.upload_memory_mb}: {exc}") from None
