"""Liveness, readiness and Prometheus metrics: what an orchestrator and a scraper ask."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serving.responses import Health, Ready

routes = APIRouter()


@routes.get("/healthz", response_model=Health)
def healthz(request: Request) -> Health:
    """The process is alive (whether or not a bundle has loaded yet)."""
    return Health(status="ok", version=request.app.state.primary.version)


@routes.get("/readyz", response_model=Ready)
def readyz(request: Request) -> Ready:
    """Every bundle served (playlists, images) has loaded and its checksums verified: 200 with the playlist
    bundle's version (the image bundle's in an image-only service), else 503 saying why."""
    primary, *others = request.app.state.bundles
    bundle, loaded_at = primary.ready()
    for other in others:
        other.ready()
    return Ready(status="ready", version=bundle.version, loaded_at=loaded_at)


@routes.get("/metrics", include_in_schema=False)
def prometheus(request: Request) -> Response:
    """Prometheus text format: requests and latency per route and status, reloads, bundle and index sizes."""
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
