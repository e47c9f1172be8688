"""The page people look at (serving/page/): plain HTML, CSS and a little JavaScript from inside the package, calling
only the public JSON API. Nothing is fetched from another host, so it works on a machine without internet."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

#: The page's files, shipped in the package.
PAGE = Path(__file__).resolve().parent.parent / "page"
#: Only this service's own scripts, styles and images (thumbnails, an upload's preview) may load: nothing inline,
#: nothing from elsewhere, so a value that slipped into the page unescaped still could not run.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

routes = APIRouter()


@routes.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The page; what it shows comes from the query string (?user=, ?item=, ?items=, ?image=), read by its script."""
    return FileResponse(PAGE / "index.html", media_type="text/html", headers={"Content-Security-Policy": POLICY})


def assets() -> StaticFiles:
    """The page's script and style sheet, mounted at /page (Starlette refuses paths that leave the folder)."""
    return StaticFiles(directory=PAGE)
