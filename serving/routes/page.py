"""The pages people look at (serving/page/): plain HTML, CSS and a little JavaScript from inside the package, calling
only the public JSON API, and the API's own documentation (/docs, /redoc) on assets served by this service. Nothing
is fetched from another host, so they work on a machine without internet, and nothing runs inline, so they work
under the content security policy every HTML answer carries (serving/headers.py)."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

#: The pages' files, shipped in the package: the HTML is served at its route only, the rest under /page.
PAGE = Path(__file__).resolve().parent.parent / "page"

routes = APIRouter()


@routes.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The page; what it shows comes from the query string (?user=, ?item=, ?items=, ?image=), read by its script."""
    return FileResponse(PAGE / "index.html", media_type="text/html")


@routes.get("/docs", include_in_schema=False)
def swagger_ui() -> FileResponse:
    """Swagger UI over /openapi.json (its script and style from /static-offline-docs, fastapi-offline's)."""
    return FileResponse(PAGE / "docs.html", media_type="text/html")


@routes.get("/redoc", include_in_schema=False)
def redoc() -> FileResponse:
    """ReDoc over /openapi.json."""
    return FileResponse(PAGE / "redoc.html", media_type="text/html")


def assets() -> StaticFiles:
    """The pages' scripts, style sheet and icon, mounted at /page (Starlette refuses paths that leave the folder)."""
    return StaticFiles(directory=PAGE / "static")
