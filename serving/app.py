"""FastAPI app factory: the live bundle is loaded in the background at start-up and reached through a dependency.

No ``from __future__ import annotations`` here: FastAPI must resolve the route signatures' local aliases.
"""

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Annotated, Any, Literal

import faiss
from fastapi import Depends, FastAPI, File, Header, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from threadpoolctl import threadpool_limits

from recsys.images.decode import ImageRejected, Limits
from recsys.settings import Settings, load_settings
from serving.bundle import LoadedBundle, NoTitles, UnknownId
from serving.images import ImageBundle
from serving.limits import BodyLimit
from serving.live import LiveBundle, NotReady, Refused, Reloaded
from serving.metrics import Metrics, MetricsMiddleware
from serving.responses import (
    BatchRecommendations,
    Error,
    Health,
    Ready,
    Recommendations,
    ReloadAnswer,
    SessionRecommendations,
    SimilarImages,
    SimilarItems,
    SimilarUsers,
    UploadSimilarImages,
)

log = logging.getLogger(__name__)

ModelName = Literal["als", "item2vec", "blend"]
#: The longest playlist name a request may give (the MPD's longest is under 100 characters).
MAX_NAME = 200
Fallback = Literal["none", "popular"]
EXCLUDE_SEEN = "false: items the user already holds may be recommended again (true: only new ones)"
ExcludeSeen = Annotated[bool, Query(description=EXCLUDE_SEEN)]


class NotServed(LookupError):
    """The service was started without the kind of bundle a route reads (playlists or images): a 404."""


async def get_bundle(request: Request) -> LoadedBundle:
    """The bundle serving now, taken once per request: a reload during the request does not change it.

    async: a plain def dependency would cost every request a hop through the threadpool for one attribute read.
    """
    live = request.app.state.live
    if live is None:
        raise NotServed("this service serves no playlist bundle (images only): start it with --name NAME")
    return live.current


Bundle = Annotated[LoadedBundle, Depends(get_bundle)]


async def get_images(request: Request) -> ImageBundle:
    """The image bundle serving now (serving.images_name), taken once per request like the playlist bundle."""
    images = request.app.state.images
    if images is None:
        raise NotServed("this service serves no image bundle: start it with --images-name NAME")
    return images.current


Images = Annotated[ImageBundle, Depends(get_images)]


def _error(status: int, message: str, parameter: str | None) -> JSONResponse:
    return JSONResponse(status_code=status, content=Error(error=message, parameter=parameter).model_dump())


def _parameter(location: tuple[str | int, ...]) -> str | None:
    """The parameter a validation error is about, as a client wrote it: ``k``, ``users``, ``users[1]``."""
    parts = location[1:] if location and location[0] in ("query", "body", "path", "header") else location
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or None


def _explain_invalid(error: dict[str, Any]) -> tuple[int, str, str | None]:
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


def recommendations(
    bundle: LoadedBundle, user: str, k: int, model: str, fallback: str, exclude_seen: bool
) -> Recommendations:
    """One user's answer; UnknownId unless the user is known or ``fallback`` is popular."""
    if fallback == "popular" and user not in bundle.user_index:
        items = bundle.popular_items(k)
        return Recommendations(user=user, model="popularity", version=bundle.version, items=items, fallback=True)
    items = bundle.recommend(user, k, model, exclude_seen)
    return Recommendations(user=user, model=model, version=bundle.version, items=items)


async def reload(live: LiveBundle, metrics: Metrics) -> Reloaded:
    """Load what LATEST names in a worker thread (requests keep being answered meanwhile), counted by result."""
    try:
        result = await asyncio.to_thread(live.reload)
    except Refused:
        metrics.reloads.labels("refused").inc()
        raise
    metrics.reloads.labels("loaded" if result.changed else "unchanged").inc()
    return result


async def watch(live: LiveBundle, metrics: Metrics, interval: float) -> None:
    """Reload whenever LATEST names a version that is neither serving nor already refused."""
    while True:
        await asyncio.sleep(interval)
        latest = live.latest_version()
        if latest is not None and latest not in (live.version, live.refused_version):
            with suppress(Refused):  # logged by the reload; the old bundle keeps serving
                await reload(live, metrics)


def create_app(artifacts_root: str | Path, name: str, settings: Settings | None = None) -> FastAPI:
    """An app serving the LATEST bundle of ``artifacts_root/name`` (none where ``name`` is ""), and that of
    ``serving.images_name`` beside it where one is named.

    By default the first load runs in the background: /healthz answers at once, /readyz and the data routes
    answer 503 until a bundle has loaded and verified. With serving.load_in_background false, the app accepts no
    connection before its first load has finished (under several workers sharing one port, a worker still loading
    would otherwise take requests that a readiness probe of another worker cannot see).
    """
    settings = settings or load_settings()
    serving = settings.serving
    max_k = serving.max_k
    K = Annotated[int, Query(ge=1, le=max_k, description=f"number of results, 1 to {max_k}")]
    default_k = min(serving.default_k, max_k)
    live = LiveBundle(artifacts_root, name) if name else None
    images = LiveBundle(artifacts_root, serving.images_name, ImageBundle.load) if serving.images_name else None
    bundles = [bundle for bundle in (live, images) if bundle is not None]
    if not bundles:
        raise ValueError("nothing to serve: name a playlist bundle (serving.name) or an image bundle (images_name)")
    primary = bundles[0]  # the one /healthz, /readyz and the reload answer name: playlists where they are served
    metrics = Metrics(bundles)
    limits = Limits(settings.images.max_bytes, settings.images.max_pixels)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One query per request: FAISS's OpenMP team and BLAS threads would only spin on the cores other
        # requests need (measured on 2 cores: 1.2-1.3x the requests/s of the default two threads).
        faiss.omp_set_num_threads(serving.threads)
        threadpool_limits(serving.threads)

        async def first_load() -> None:
            for bundle in bundles:
                with suppress(Refused):  # logged; /readyz says why until a reload succeeds
                    await reload(bundle, metrics)

        if serving.load_in_background:
            tasks = [asyncio.create_task(first_load())]
        else:
            await first_load()
            tasks = []
        if serving.watch_interval_s > 0:
            tasks += [asyncio.create_task(watch(bundle, metrics, serving.watch_interval_s)) for bundle in bundles]
        yield
        for task in tasks:
            task.cancel()

    app = FastAPIOffline(  # a FastAPI whose /docs and /redoc load their scripts from this service, not a CDN
        title="recsys",
        version="0.1.0",
        lifespan=lifespan,
        responses={404: {"model": Error}, 422: {"model": Error}, 503: {"model": Error}},
    )
    app.state.live, app.state.images = live, images
    uploads = {"/similar-images": limits.max_bytes + 64 * 1024}  # an upload plus its multipart framing
    app.add_middleware(BodyLimit, max_bytes=serving.max_body_bytes, per_path=uploads)
    app.add_middleware(MetricsMiddleware, metrics=metrics, paths=lambda: {getattr(r, "path", "") for r in app.routes})

    @app.exception_handler(UnknownId)
    async def unknown_id(_: Request, exc: UnknownId) -> JSONResponse:
        return _error(404, str(exc), exc.parameter)

    @app.exception_handler(NotServed)
    async def not_served(_: Request, exc: NotServed) -> JSONResponse:
        return _error(404, str(exc), None)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        """Routing's own answers (no such path, a method the path does not take) in the service's error format."""
        response = _error(exc.status_code, str(exc.detail), None)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, exc: NotReady) -> JSONResponse:
        return _error(503, str(exc), None)

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        status, message, parameter = _explain_invalid(first)
        body = Error(error=message, parameter=parameter).model_dump()
        return JSONResponse(status_code=status, content={**body, "detail": jsonable_encoder(exc.errors())})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return _error(500, "internal error", None)

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """The process is alive (whether or not a bundle has loaded yet)."""
        return Health(status="ok", version=primary.version)

    @app.get("/readyz", response_model=Ready)
    def readyz() -> Ready:
        """Every bundle served (playlists, images) has loaded and its checksums verified: 200 with the playlist
        bundle's version (the image bundle's in an image-only service), else 503 saying why."""
        bundle, loaded_at = primary.ready()
        for other in bundles[1:]:
            other.ready()
        return Ready(status="ready", version=bundle.version, loaded_at=loaded_at)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus text format: requests and latency per route and status, reloads, bundle and index sizes."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/recommend", response_model=Recommendations)
    async def recommend(
        bundle: Bundle,
        user: Annotated[str, Query(min_length=1)],
        k: K = default_k,
        model: Annotated[ModelName, Query(description="which model ranks")] = "als",
        fallback: Annotated[Fallback, Query(description="popular: answer an unknown user with popular items")] = "none",
        exclude_seen: ExcludeSeen = True,
    ) -> Recommendations:
        """Next songs for a known user or playlist, excluding what it already holds (unless exclude_seen=false)."""
        if model == "als":  # one FAISS search (~0.3 ms on 1.3M items): cheaper on the event loop than a thread hop
            return recommendations(bundle, user, k, model, fallback, exclude_seen)
        # the others search or score several models: in a worker thread
        return await run_in_threadpool(recommendations, bundle, user, k, model, fallback, exclude_seen)

    class Body(BaseModel):
        """A request body: unknown keys and loose types (``"k": true``, ``"k": "5"``) are 422s naming the key, as
        unknown or malformed query parameters are."""

        model_config = ConfigDict(extra="forbid", strict=True)

    class Batch(Body):
        users: list[Annotated[str, Field(min_length=1)]] = Field(
            min_length=1, max_length=serving.max_batch, description=f"user ids, 1 to {serving.max_batch}"
        )
        k: int = Field(default_k, ge=1, le=max_k, description=f"number of results per user, 1 to {max_k}")
        model: ModelName = "als"
        fallback: Fallback = "none"
        exclude_seen: bool = Field(True, description=EXCLUDE_SEEN)

    @app.post("/recommend/batch", response_model=BatchRecommendations)
    def recommend_batch(bundle: Bundle, body: Batch) -> BatchRecommendations:
        """Many users in one call, all from one bundle version; users it does not know are listed, not fatal."""
        results, unknown = [], []
        for user in body.users:
            if user not in bundle.user_index:
                unknown.append(user)
                if body.fallback == "none":
                    continue
            results.append(recommendations(bundle, user, body.k, body.model, body.fallback, body.exclude_seen))
        return BatchRecommendations(model=body.model, version=bundle.version, results=results, unknown=unknown)

    class NewUser(Body):
        items: list[Annotated[str, Field(min_length=1)]] = Field(
            [], description="item ids the user holds, oldest first (may be empty where a name is given)"
        )
        name: str | None = Field(
            None, min_length=1, max_length=MAX_NAME, description="the playlist's name, for the title model"
        )
        k: int = Field(default_k, ge=1, le=max_k, description=f"number of results, 1 to {max_k}")
        model: Literal["als", "item2vec"] = Field(
            "als", description="als: fold-in, then FAISS; item2vec: the next song after the latest of the items"
        )

    @app.post("/recommend", response_model=SessionRecommendations)
    def recommend_new_user(bundle: Bundle, body: NewUser) -> SessionRecommendations | JSONResponse:
        """A new or anonymous user, from the items it holds (oldest first) and its playlist's name, without
        retraining: ALS fold-in or item2vec's next song, fused with the title model's list where a name is given;
        a name alone is answered by the title model."""
        if not body.items and body.name is None:
            return _error(422, "invalid parameter 'items': give items, a name, or both", "items")
        try:
            model, items = bundle.new_user(body.items, body.k, body.model, body.name)
        except NoTitles as exc:
            return _error(422, f"invalid parameter 'name': {exc}", "name")
        return SessionRecommendations(
            items_in=body.items, model=model, version=bundle.version, items=items, name=body.name
        )

    @app.get("/next", response_model=SessionRecommendations)
    def next_items(
        bundle: Bundle,
        items: Annotated[str, Query(min_length=1, description="comma-separated item ids, oldest first")],
        k: K = default_k,
        skip_unknown: Annotated[
            bool, Query(description="leave out ids the bundle does not know (listed in skipped) instead of a 404")
        ] = False,
    ) -> SessionRecommendations:
        """The next song for a sequence of items (a session): item2vec next-song and co-occurrence, fused."""
        sequence = [item for item in items.split(",") if item]
        if not sequence:
            return _error(422, "invalid parameter 'items': no item ids", "items")
        unknown = [item for item in sequence if item not in bundle.item_index]
        if unknown and (not skip_unknown or len(unknown) == len(sequence)):
            raise UnknownId("items", ",".join(unknown))  # every unknown id named, not only the first
        known = [item for item in sequence if item in bundle.item_index]
        answer = bundle.next_items(known, k)
        return SessionRecommendations(
            items_in=known, model="item2vec+cooccurrence", version=bundle.version, items=answer, skipped=unknown
        )

    @app.get("/similar-items", response_model=SimilarItems)
    def similar_items(bundle: Bundle, item: Annotated[str, Query(min_length=1)], k: K = default_k) -> SimilarItems:
        """Items whose item2vec vectors are closest by cosine."""
        return SimilarItems(item=item, model="item2vec", version=bundle.version, items=bundle.similar_items(item, k))

    @app.get("/similar-users", response_model=SimilarUsers)
    def similar_users(bundle: Bundle, user: Annotated[str, Query(min_length=1)], k: K = default_k) -> SimilarUsers:
        """Users whose mean item vectors are closest by cosine."""
        return SimilarUsers(user=user, model="item2vec", version=bundle.version, users=bundle.similar_users(user, k))

    @app.get("/similar-images", response_model=SimilarImages)
    def similar_images(bundle: Images, image: Annotated[str, Query(min_length=1)], k: K = default_k) -> SimilarImages:
        """Images whose CNN embeddings are closest by cosine to an indexed image (its path under the folder)."""
        return SimilarImages(image=image, version=bundle.version, images=bundle.similar(image, k))

    @app.post("/similar-images", response_model=UploadSimilarImages, responses={413: {"model": Error}})
    async def similar_to_upload(
        bundle: Images, file: Annotated[UploadFile, File(description="an image file")], k: K = default_k
    ) -> UploadSimilarImages | JSONResponse:
        """Images closest to an uploaded one, embedded on the fly with the job's preprocessing and backbone, and
        the transfer-learning head's label with its probability where the bundle has a head."""
        data = await file.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            return _error(413, f"upload is over the limit of {limits.max_bytes:,} bytes", "file")
        try:
            vector = await run_in_threadpool(bundle.embed_upload, data, limits)
        except ImageRejected as exc:
            return _error(422, f"invalid parameter 'file': {exc}", "file")
        found, prediction = bundle.similar_to_upload(vector, k)
        return UploadSimilarImages(version=bundle.version, images=found, prediction=prediction)

    token = serving.admin_token.get_secret_value()
    if token:
        expected = f"Bearer {token}".encode()

        @app.post(
            "/admin/reload", response_model=ReloadAnswer, responses={401: {"model": Error}, 409: {"model": Error}}
        )
        async def admin_reload(authorization: Annotated[str, Header()] = "") -> ReloadAnswer | JSONResponse:
            """Swap to the version LATEST names; the old bundle serves until the new one has loaded and verified."""
            if not hmac.compare_digest(authorization.encode(), expected):  # constant time: no timing oracle
                return _error(401, "missing or wrong admin token", "Authorization")
            try:
                result = await reload(primary, metrics)
                for other in bundles[1:]:
                    await reload(other, metrics)
            except Refused as exc:
                return _error(409, str(exc), None)
            return ReloadAnswer(version=result.version, previous=result.previous, changed=result.changed)

    return app


def from_settings() -> FastAPI:
    """Factory for ``uvicorn --factory serving.app:from_settings``: root and name from serving.artifacts/.name.

    How ``python -m serving --workers N`` starts each worker; settable through RECSYS__SERVING__* variables.
    """
    settings = load_settings()
    if not settings.serving.artifacts:
        raise SystemExit("serving.artifacts is not set (RECSYS__SERVING__ARTIFACTS or python -m serving --artifacts)")
    return create_app(settings.serving.artifacts, settings.serving.name, settings)
