"""FastAPI app factory: the live bundle is loaded in the background at start-up and reached through a dependency
(serving/dependencies.py); the routes live in serving/routes/, one router per concern, and every failure answers
in one format (serving/errors.py)."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from functools import partial
from pathlib import Path

import faiss
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from threadpoolctl import threadpool_limits

from recsys import registry
from recsys.bundle.default import DefaultModel
from recsys.bundle.images import ImageBundle
from recsys.bundle.reader import LoadedBundle
from recsys.settings import AUTO_MODEL, ServingSettings, Settings, load_settings
from serving import errors
from serving.headers import SecurityHeaders
from serving.limits import BodyLimit, upload_limits
from serving.live import LiveBundle, Refused, reload, watch
from serving.metrics import Metrics, MetricsMiddleware
from serving.responses import Error
from serving.routes import admin, browse, health, images, page, recommend, similar

log = logging.getLogger(__name__)


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
    check_default_model(serving)
    live = (
        LiveBundle(artifacts_root, name, partial(load_serving_default, default=serving.default_model)) if name else None
    )
    image_bundle = LiveBundle(artifacts_root, serving.images_name, ImageBundle.load) if serving.images_name else None
    bundles = [bundle for bundle in (live, image_bundle) if bundle is not None]
    if not bundles:
        raise ValueError("nothing to serve: name a playlist bundle (serving.name) or an image bundle (images_name)")
    metrics = Metrics(bundles)
    limits = upload_limits(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One query per request: FAISS's OpenMP team and BLAS threads would only spin on the cores other
        # requests need (measured on 2 cores: 1.2-1.3x the requests/s of the default two threads).
        faiss.omp_set_num_threads(serving.threads)
        threadpool_limits(serving.threads)

        async def first_load() -> None:
            for bundle in bundles:
                with suppress(Refused):  # logged; /readyz says why until a reload succeeds
                    await reload(bundle, metrics.reloads)

        if serving.load_in_background:
            tasks = [asyncio.create_task(first_load())]
        else:
            await first_load()
            tasks = []
        if serving.watch_interval_s > 0:
            tasks += [
                asyncio.create_task(watch(bundle, metrics.reloads, serving.watch_interval_s)) for bundle in bundles
            ]
        yield
        for task in tasks:
            task.cancel()

    app = FastAPIOffline(  # a FastAPI whose /docs and /redoc load their scripts from this service, not a CDN
        title="recsys",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # serving/routes/page.py serves /docs and /redoc, with no inline script
        redoc_url=None,
        redirect_slashes=False,  # a redirect built from the Host header would send clients to any host named there
        responses={404: {"model": Error}, 422: {"model": Error}, 503: {"model": Error}},
    )
    # bundles[0] is the one /healthz, /readyz and the reload answer name: playlists where they are served
    app.state.live, app.state.images, app.state.bundles, app.state.metrics = live, image_bundle, bundles, metrics
    app.state.primary = bundles[0]
    errors.install(app)
    routers = [health.routes, recommend.router(serving), similar.router(serving), images.router(serving, limits)]
    routers += [browse.router(serving), page.routes]
    token = serving.admin_token.get_secret_value()
    if token:
        routers.append(admin.router(token))
    for router in routers:
        app.include_router(router)
    app.mount("/page", page.assets(), name="page")
    # what a request answered before routing (a 413) is counted under its path where that is a route's
    paths = {route.path for router in routers for route in router.routes} | {
        getattr(route, "path", "") for route in app.routes
    }
    uploads = {"/similar-images": limits.max_bytes + 64 * 1024}  # an upload plus its multipart framing
    app.add_middleware(BodyLimit, max_bytes=serving.max_body_bytes, per_path=uploads)
    app.add_middleware(MetricsMiddleware, metrics=metrics, paths=lambda: paths)
    app.add_middleware(SecurityHeaders)  # outermost of ours: a 413 or a metrics answer carries its headers too
    return app


def check_default_model(serving: ServingSettings) -> None:
    """ValueError where serving.default_model is neither auto nor a model the registry knows (every plain request
    would fail)."""
    known = registry.names()
    if serving.default_model != AUTO_MODEL and serving.default_model not in known:
        raise ValueError(
            f"serving.default_model={serving.default_model!r} is not a model; {AUTO_MODEL} or one of {', '.join(known)}"
        )


def load_serving_default(folder: Path, default: str) -> LoadedBundle:
    """The bundle in ``folder`` answering a request that names no model with ``default`` (serving.default_model;
    auto: the bundle's own choice). Refused (the old one kept serving) where it does not hold the default: such a
    request would get a 422 from it (a ranker named as the default, a bundle built without one)."""
    bundle = LoadedBundle.load(folder)
    if default == AUTO_MODEL:
        return bundle
    if default not in bundle.models:
        raise ValueError(
            f"it serves no {default} model, the service's default (serving.default_model); it serves "
            f"{', '.join(bundle.models)}"
        )
    return replace(bundle, default_model=DefaultModel(default, "serving.default_model names it"))


def from_settings() -> FastAPI:
    """Factory for ``uvicorn --factory serving.app:from_settings``: root and name from serving.artifacts/.name.

    How ``python -m serving --workers N`` starts each worker; settable through RECSYS__SERVING__* variables.
    """
    settings = load_settings()
    if not settings.serving.artifacts:
        raise SystemExit("serving.artifacts is not set (RECSYS__SERVING__ARTIFACTS or python -m serving --artifacts)")
    return create_app(settings.serving.artifacts, settings.serving.name, settings)
