"""What the page (serving/page/) browses by, and anyone else may: search as you type, a user's items, items'
metadata, which bundle is live and how it was made, and its evaluation report. Read-only, like every route.

No ``from __future__ import annotations`` here: FastAPI must resolve the route signatures' local aliases.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from recsys import layout
from recsys.settings import ServingSettings
from serving.dependencies import Bundle, k_parameter
from serving.errors import NotServed, error
from serving.responses import BundleAbout, Error, Found, HeldItems, ImagesAbout, ItemDetails

#: The most users and items one search answers (each): a list to pick from as one types.
MAX_FOUND = 50
#: The longest query: ids and titles are shorter.
MAX_QUERY = 200


def router(serving: ServingSettings) -> APIRouter:
    routes = APIRouter()
    K, default_k = k_parameter(serving)

    @routes.get("/search", response_model=Found)
    def search(
        bundle: Bundle,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY, description="what was typed")],
        k: Annotated[int, Query(ge=1, le=MAX_FOUND, description=f"most users and items, 1 to {MAX_FOUND}")] = 10,
    ) -> Found:
        """Users whose id starts with ``q`` or whose playlist name has words starting with its words, and items
        whose id or metadata (title, artist, ...) do: the best known first. A keystroke costs binary searches
        over sorted words, never a pass over the catalogue (recsys/bundle/search.py)."""
        return Found(query=q, version=bundle.version, users=bundle.find_users(q, k), items=bundle.find_items(q, k))

    @routes.get("/user-items", response_model=HeldItems)
    def user_items(
        bundle: Bundle,
        user: Annotated[str, Query(min_length=1)],
        k: K = 100,  # type: ignore[valid-type]
    ) -> HeldItems:
        """What a known user (playlist) holds, its latest first, with each item's metadata."""
        total, items = bundle.held_items(user, k)
        name = None if bundle.user_names is None else bundle.user_names[bundle.user(user)].as_py()
        return HeldItems(user=user, version=bundle.version, name=name, total=total, items=items)

    @routes.get("/item-details", response_model=ItemDetails)
    def item_details(
        bundle: Bundle,
        items: Annotated[str, Query(min_length=1, description="comma-separated item ids")],
    ) -> ItemDetails:
        """Items' metadata (title, artist, ...), each scored by how many users hold it."""
        wanted = [item for item in items.split(",") if item]
        if not wanted or len(wanted) > serving.max_k:
            return error(422, f"invalid parameter 'items': give 1 to {serving.max_k} item ids", "items")
        return ItemDetails(version=bundle.version, items=bundle.item_details(wanted))

    @routes.get("/bundle", response_model=BundleAbout)
    def about(request: Request) -> BundleAbout:
        """Which bundles are live and how they were made: built when, from what input, their counts."""
        playlists = None if request.app.state.live is None else request.app.state.live.current
        images = None if request.app.state.images is None else request.app.state.images.current
        made = {} if playlists is None else playlists.about
        has_report = playlists is not None and (playlists.folder / layout.REPORT_HTML).is_file()
        return BundleAbout(
            version=None if playlists is None else playlists.version,
            created=made.get("created"),
            input=made.get("input"),
            counts=made.get("counts"),
            models_fitted_on=made.get("models_fitted_on"),
            report="/report" if has_report else None,
            images=None
            if images is None
            else ImagesAbout(
                version=images.version, images=len(images.ids), backbone=images.backbone, head=images.head is not None
            ),
        )

    @routes.get(
        "/report", response_class=FileResponse, responses={200: {"content": {"text/html": {}}}, 404: {"model": Error}}
    )
    def report(bundle: Bundle) -> FileResponse:
        """The live bundle's evaluation report (charts inside), as the build wrote it."""
        path = bundle.folder / layout.REPORT_HTML
        if not path.is_file():
            raise NotServed("this bundle holds no evaluation report (built with evaluation.enabled=false)")
        return FileResponse(path, media_type="text/html")

    return routes
