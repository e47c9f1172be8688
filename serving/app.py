"""FastAPI app factory: the bundle is loaded once in the lifespan and reached through a dependency.

No ``from __future__ import annotations`` here: FastAPI must resolve the route signatures' local aliases.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from recsys import artifacts
from recsys.settings import Settings, load_settings
from serving.bundle import LoadedBundle, UnknownId
from serving.responses import Error, Health, Recommendations, SessionRecommendations, SimilarItems, SimilarUsers

log = logging.getLogger(__name__)


def get_bundle(request: Request) -> LoadedBundle:
    """The live bundle; tests may override this dependency."""
    return request.app.state.bundle


Bundle = Annotated[LoadedBundle, Depends(get_bundle)]


def _error(status: int, message: str, parameter: str | None) -> JSONResponse:
    return JSONResponse(status_code=status, content=Error(error=message, parameter=parameter).model_dump())


def create_app(artifacts_root: str | Path, name: str, settings: Settings | None = None) -> FastAPI:
    """An app serving the LATEST bundle of ``artifacts_root/name``."""
    settings = settings or load_settings()
    max_k = settings.serving.max_k
    K = Annotated[int, Query(ge=1, le=max_k, description=f"number of results, 1 to {max_k}")]
    default_k = min(settings.serving.default_k, max_k)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        folder = artifacts.resolve(artifacts_root, name)
        app.state.bundle = LoadedBundle.load(folder)
        yield

    app = FastAPI(
        title="recsys", version="0.1.0", lifespan=lifespan, responses={404: {"model": Error}, 422: {"model": Error}}
    )

    @app.exception_handler(UnknownId)
    async def unknown_id(_: Request, exc: UnknownId) -> JSONResponse:
        return _error(404, str(exc), exc.parameter)

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        parameter = str(first["loc"][-1]) if first.get("loc") else None
        body = Error(error=f"invalid parameter {parameter!r}: {first['msg']}", parameter=parameter).model_dump()
        return JSONResponse(status_code=422, content={**body, "detail": jsonable_encoder(exc.errors())})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return _error(500, "internal error", None)

    @app.get("/healthz", response_model=Health)
    def healthz(bundle: Bundle) -> Health:
        return Health(status="ok", version=bundle.version)

    @app.get("/recommend", response_model=Recommendations)
    def recommend(
        bundle: Bundle,
        user: Annotated[str, Query(min_length=1)],
        k: K = default_k,
        model: Annotated[Literal["als", "item2vec", "blend"], Query(description="which model ranks")] = "als",
        fallback: Annotated[
            Literal["none", "popular"], Query(description="popular: answer an unknown user with popular items")
        ] = "none",
    ) -> Recommendations:
        """Next songs for a known user or playlist, excluding what it already holds."""
        if fallback == "popular" and user not in bundle.user_index:
            items = bundle.popular_items(k)
            return Recommendations(user=user, model="popularity", version=bundle.version, items=items, fallback=True)
        items = bundle.recommend(user, k, model)
        return Recommendations(user=user, model=model, version=bundle.version, items=items)

    class NewUser(BaseModel):
        items: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1, description="item ids the user holds")
        k: int = Field(default_k, ge=1, le=max_k, description=f"number of results, 1 to {max_k}")

    @app.post("/recommend", response_model=SessionRecommendations)
    def recommend_new_user(bundle: Bundle, body: NewUser) -> SessionRecommendations:
        """A new or anonymous user, from the items it holds, without retraining: ALS fold-in, then FAISS."""
        items = bundle.fold_in(body.items, body.k)
        return SessionRecommendations(items_in=body.items, model="als", version=bundle.version, items=items)

    @app.get("/next", response_model=SessionRecommendations)
    def next_items(
        bundle: Bundle,
        items: Annotated[str, Query(min_length=1, description="comma-separated item ids, oldest first")],
        k: K = default_k,
    ) -> SessionRecommendations:
        """The next song for a sequence of items (a session): item2vec next-song and co-occurrence, fused."""
        sequence = [item for item in items.split(",") if item]
        if not sequence:
            return _error(422, "invalid parameter 'items': no item ids", "items")
        answer = bundle.next_items(sequence, k)
        return SessionRecommendations(
            items_in=sequence, model="item2vec+cooccurrence", version=bundle.version, items=answer
        )

    @app.get("/similar-items", response_model=SimilarItems)
    def similar_items(bundle: Bundle, item: Annotated[str, Query(min_length=1)], k: K = default_k) -> SimilarItems:
        """Items whose item2vec vectors are closest by cosine."""
        return SimilarItems(item=item, model="item2vec", version=bundle.version, items=bundle.similar_items(item, k))

    @app.get("/similar-users", response_model=SimilarUsers)
    def similar_users(bundle: Bundle, user: Annotated[str, Query(min_length=1)], k: K = default_k) -> SimilarUsers:
        """Users whose mean item vectors are closest by cosine."""
        return SimilarUsers(user=user, model="item2vec", version=bundle.version, users=bundle.similar_users(user, k))

    return app
