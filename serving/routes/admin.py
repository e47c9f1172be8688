"""POST /admin/reload: swap to the version LATEST names, for holders of serving.admin_token (no route without one).

No ``from __future__ import annotations`` here: FastAPI must resolve the route signatures' local aliases.
"""

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from serving.errors import error
from serving.live import Refused, reload
from serving.responses import Error, ReloadAnswer


def router(token: str) -> APIRouter:
    routes = APIRouter()
    expected = f"Bearer {token}".encode()

    @routes.post("/admin/reload", response_model=ReloadAnswer, responses={401: {"model": Error}, 409: {"model": Error}})
    async def admin_reload(
        request: Request, authorization: Annotated[str, Header()] = ""
    ) -> ReloadAnswer | JSONResponse:
        """Swap to the version LATEST names; the old bundle serves until the new one has loaded and verified."""
        if not hmac.compare_digest(authorization.encode(), expected):  # constant time: no timing oracle
            return error(401, "missing or wrong admin token", "Authorization")
        state = request.app.state
        primary, *others = state.bundles
        try:
            result = await reload(primary, state.metrics.reloads)
            for other in others:
                await reload(other, state.metrics.reloads)
        except Refused as exc:
            return error(409, str(exc), None)
        return ReloadAnswer(version=result.version, previous=result.previous, changed=result.changed)

    return routes
