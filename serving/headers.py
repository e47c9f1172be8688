"""Headers every answer carries, and the content security policy every HTML answer carries (the page, the report,
/docs and /redoc): set in one place, outside every route, so a new route or an error answer cannot miss them."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The hash of an empty style element: ReDoc's styled-components creates empty ones and fills them through the CSSOM
#: from its script (which the policy allows); an empty style element itself styles nothing.
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
#: Only this service's own scripts, styles and images (thumbnails, an upload's preview, the report's embedded
#: charts) may load: nothing inline, nothing from elsewhere, so a value that slipped into a page unescaped still
#: could not run.
POLICY = (
    f"default-src 'self'; script-src 'self'; style-src 'self' {EMPTY_STYLE}; img-src 'self' blob: data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: On every answer: browsers must not guess a content type other than the one sent, nor tell other sites which
#: page of this service linked to them.
ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class SecurityHeaders:
    """Pure ASGI middleware: ALWAYS on every answer, POLICY on every text/html one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(ALWAYS)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = POLICY
            await send(message)

        await self.app(scope, receive, with_headers)
