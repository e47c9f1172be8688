"""Response models: the public shape of every answer, separate from the bundle's internal objects."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ScoredItem(BaseModel):
    """An item, its score, and whatever metadata the bundle holds for it (title, artist, ...)."""

    model_config = ConfigDict(extra="allow")
    item: str
    score: float


class ScoredUser(BaseModel):
    user: str
    score: float


class Recommendations(BaseModel):
    user: str
    model: str
    version: str
    items: list[ScoredItem]
    fallback: bool = False  # true: the user is unknown and these are the most popular items


class ServedModel(BaseModel):
    name: str
    default: bool  # what /recommend ranks with when a request names no model
    metrics: dict[str, float] | None  # the bundle's own evaluation of it (report.json); None where none ran


class DefaultChoice(BaseModel):
    name: str  # what a request naming no model gets
    why: str  # serving.default_model names it, or (auto) the bundle's evaluation measured it best


class Models(BaseModel):
    """What ``model=`` may name on this bundle, in the evaluation report's order (baselines first)."""

    version: str
    split: str | None  # the evaluation's protocol the metrics come from (evaluation.split), if one ran
    default: DefaultChoice
    models: list[ServedModel]


class SessionRecommendations(BaseModel):
    """Recommendations from a list of items rather than a known user: /next, POST /recommend."""

    items_in: list[str]
    model: str
    version: str
    items: list[ScoredItem]
    skipped: list[str] = []  # /next?skip_unknown=true: the given ids the bundle does not know, left out
    name: str | None = None  # POST /recommend: the playlist's name, where the request gave one


class SimilarItems(BaseModel):
    item: str
    model: str
    version: str
    items: list[ScoredItem]


class SimilarUsers(BaseModel):
    user: str
    model: str
    version: str
    users: list[ScoredUser]


class ScoredImage(BaseModel):
    image: str  # the image's path under the folder the job indexed
    score: float  # cosine similarity
    label: str | None  # its folder label, when the bundle was built with --labels folders


class SimilarImages(BaseModel):
    image: str
    version: str
    images: list[ScoredImage]


class Prediction(BaseModel):
    label: str
    probability: float


class UploadSimilarImages(BaseModel):
    """POST /similar-images: the neighbours of an uploaded image, and the head's label where the bundle has one."""

    version: str
    images: list[ScoredImage]
    prediction: Prediction | None


class BatchRecommendations(BaseModel):
    """POST /recommend/batch: one answer per user answered, in request order, all from one bundle version."""

    model: str
    version: str
    results: list[Recommendations]
    unknown: list[str]  # requested users the bundle does not know (answered with popular items under fallback)


class Health(BaseModel):
    status: str
    version: str | None  # None while the first bundle is still loading


class Ready(BaseModel):
    status: str
    version: str
    loaded_at: float  # unix time this bundle went live


class ReloadAnswer(BaseModel):
    version: str  # serving now
    previous: str | None
    changed: bool  # false: LATEST already named the serving version


class Error(BaseModel):
    """Every 4xx answer: what went wrong, and which parameter it concerns."""

    error: str
    parameter: str | None = None


class FoundUser(BaseModel):
    user: str
    name: str | None  # the playlist's name, where the input named its playlists
    items: int  # how many items it holds


class Found(BaseModel):
    """GET /search: users and items whose id, or words of whose name or metadata, start with what was typed."""

    query: str
    version: str
    users: list[FoundUser]
    items: list[ScoredItem]  # scored by how many users hold the item


class HeldItems(BaseModel):
    """GET /user-items: what a user holds, its latest first; each scored by how often the user holds it."""

    user: str
    version: str
    name: str | None
    total: int  # how many distinct items it holds (items lists the first k)
    items: list[ScoredItem]


class ItemDetails(BaseModel):
    """GET /item-details: items with their metadata, each scored by how many users hold it."""

    version: str
    items: list[ScoredItem]


class ImagesAbout(BaseModel):
    version: str
    images: int
    backbone: str
    head: bool  # whether an upload's class is predicted


class BundleAbout(BaseModel):
    """GET /bundle: which bundles are live and how they were made."""

    version: str | None  # the playlist bundle's; None in an image-only service
    created: str | None
    input: dict[str, object] | None  # what the build read: path, format, ...
    counts: dict[str, int] | None
    models_fitted_on: str | None
    report: str | None  # where its evaluation report is served (GET /report), where one ran
    images: ImagesAbout | None
