"""What routes are given: the bundle serving now (taken once per request, so a reload during the request does not
change it), and the query parameters several routes share.

No ``from __future__ import annotations`` here: FastAPI must resolve the aliases' annotations at import.
"""

from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from recsys import registry
from recsys.bundle.images import ImageBundle
from recsys.bundle.reader import LoadedBundle
from recsys.settings import ServingSettings
from serving.errors import NotServed

Fallback = Literal["none", "popular"]
EXCLUDE_SEEN = "false: items the user already holds may be recommended again (true: only new ones)"
ExcludeSeen = Annotated[bool, Query(description=EXCLUDE_SEEN)]


def model_name() -> object:
    """What model= may name, as the Literal FastAPI validates and documents: the registry's names when the app is
    built (a bundle may hold fewer: GET /models)."""
    return Literal[registry.names()]  # type: ignore[valid-type]


def k_parameter(serving: ServingSettings) -> tuple[object, int]:
    """The ``k`` query parameter of a service (1 to ``serving.max_k``) and its default."""
    max_k = serving.max_k
    k = Annotated[int, Query(ge=1, le=max_k, description=f"number of results, 1 to {max_k}")]
    return k, min(serving.default_k, max_k)


async def get_bundle(request: Request) -> LoadedBundle:
    """The playlist bundle serving now. async: a plain def dependency would cost every request a hop through the
    threadpool for one attribute read."""
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


class Body(BaseModel):
    """A request body: unknown keys and loose types (``"k": true``, ``"k": "5"``) are 422s naming the key, as
    unknown or malformed query parameters are."""

    model_config = ConfigDict(extra="forbid", strict=True)
