"""Recommendations: for a known user (GET /recommend, POST /recommend/batch), a new one from its items and its
playlist's name (POST /recommend), a bare session (GET /next), and what model= may name (GET /models).

No ``from __future__ import annotations`` here: FastAPI must resolve the route signatures' local aliases.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import Field

from recsys.bundle.reader import LoadedBundle, NoTitles, UnknownId
from recsys.settings import ServingSettings
from serving.bodies import StrictJSONRoute
from serving.dependencies import EXCLUDE_SEEN as EXCLUDE_SEEN_TEXT
from serving.dependencies import Body, Bundle, ExcludeSeen, Fallback, k_parameter, model_name
from serving.errors import error
from serving.responses import (
    BatchRecommendations,
    DefaultChoice,
    Models,
    Recommendations,
    ServedModel,
    SessionRecommendations,
)

#: The longest playlist name a request may give (the MPD's longest is under 100 characters).
MAX_NAME = 200


def recommendations(
    bundle: LoadedBundle, user: str, k: int, model: str, fallback: str, exclude_seen: bool
) -> Recommendations:
    """One user's answer; UnknownId unless the user is known or ``fallback`` is popular."""
    if fallback == "popular" and user not in bundle.user_index:
        items = bundle.popular_items(k)
        return Recommendations(user=user, model="popularity", version=bundle.version, items=items, fallback=True)
    items = bundle.recommend(user, k, model, exclude_seen)
    return Recommendations(user=user, model=model, version=bundle.version, items=items)


#: What a request that names no model is told of model=.
UNNAMED = "which model ranks (GET /models lists them); none: the service's default, which GET /models marks"


def router(serving: ServingSettings) -> APIRouter:
    """The recommendation routes, bounded by ``serving``'s limits and defaults."""
    routes = APIRouter(route_class=StrictJSONRoute)  # JSON bodies: NaN and the like are 422s naming the field
    max_k = serving.max_k
    K, default_k = k_parameter(serving)
    ModelName = model_name()

    @routes.get("/recommend", response_model=Recommendations)
    async def recommend(
        bundle: Bundle,
        user: Annotated[str, Query(min_length=1)],
        k: K = default_k,  # type: ignore[valid-type]
        model: Annotated[ModelName | None, Query(description=UNNAMED)] = None,
        fallback: Annotated[Fallback, Query(description="popular: answer an unknown user with popular items")] = "none",
        exclude_seen: ExcludeSeen = True,
    ) -> Recommendations:
        """Next songs for a known user or playlist, excluding what it already holds (unless exclude_seen=false)."""
        model = model or bundle.default_model.name
        if model == "als":  # one FAISS search (~0.3 ms on 1.3M items): cheaper on the event loop than a thread hop
            return recommendations(bundle, user, k, model, fallback, exclude_seen)
        # the others search or score several models: in a worker thread
        return await run_in_threadpool(recommendations, bundle, user, k, model, fallback, exclude_seen)

    @routes.get("/models", response_model=Models)
    def models(bundle: Bundle) -> Models:
        """The models this bundle serves (what model= may name; ``default``: when a request names none), each with
        its metrics from the bundle's own evaluation (the manifest's, as in report.json) where one ran."""
        report = bundle.evaluation or {}
        metrics = report.get("models", {})
        chosen = bundle.default_model  # serving.default_model, set at load (serving/app.py)
        served = [ServedModel(name=n, default=n == chosen.name, metrics=metrics.get(n)) for n in bundle.models]
        return Models(
            version=bundle.version,
            split=report.get("split"),
            default=DefaultChoice(name=chosen.name, why=chosen.why),
            models=served,
        )

    class Batch(Body):
        users: list[Annotated[str, Field(min_length=1)]] = Field(
            min_length=1, max_length=serving.max_batch, description=f"user ids, 1 to {serving.max_batch}"
        )
        k: int = Field(default_k, ge=1, le=max_k, description=f"number of results per user, 1 to {max_k}")
        model: ModelName | None = Field(None, description=UNNAMED)  # type: ignore[valid-type]
        fallback: Fallback = "none"
        exclude_seen: bool = Field(True, description=EXCLUDE_SEEN_TEXT)

    @routes.post("/recommend/batch", response_model=BatchRecommendations)
    def recommend_batch(bundle: Bundle, body: Batch) -> BatchRecommendations:
        """Many users in one call, all from one bundle version; users it does not know are listed, not fatal."""
        model = body.model or bundle.default_model.name
        results, unknown = [], []
        for user in body.users:
            if user not in bundle.user_index:
                unknown.append(user)
                if body.fallback == "none":
                    continue
            results.append(recommendations(bundle, user, body.k, model, body.fallback, body.exclude_seen))
        return BatchRecommendations(model=model, version=bundle.version, results=results, unknown=unknown)

    class NewUser(Body):
        items: list[Annotated[str, Field(min_length=1)]] = Field(
            [], description="item ids the user holds, oldest first (may be empty where a name is given)"
        )
        name: str | None = Field(
            None, min_length=1, max_length=MAX_NAME, description="the playlist's name, for the title model"
        )
        k: int = Field(default_k, ge=1, le=max_k, description=f"number of results, 1 to {max_k}")
        model: ModelName | None = Field(  # type: ignore[valid-type]
            None,
            description="any model GET /models lists, from the items (none: the service's default, which GET "
            "/models marks): als folds the user in, then searches FAISS; item2vec gives the next song after the "
            "latest of the items; blend and ranker read every member's list",
        )

    @routes.post("/recommend", response_model=SessionRecommendations)
    def recommend_new_user(bundle: Bundle, body: NewUser) -> SessionRecommendations | JSONResponse:
        """A new or anonymous user, from the items it holds (oldest first) and its playlist's name, without
        retraining: any served model (ALS by fold-in), fused with the title model's list where a name is given; a
        name alone is answered by the title model."""
        if not body.items and body.name is None:
            return error(422, "invalid parameter 'items': give items, a name, or both", "items")
        try:
            model, items = bundle.new_user(body.items, body.k, body.model or bundle.default_model.name, body.name)
        except NoTitles as exc:
            return error(422, f"invalid parameter 'name': {exc}", "name")
        return SessionRecommendations(
            items_in=body.items, model=model, version=bundle.version, items=items, name=body.name
        )

    @routes.get("/next", response_model=SessionRecommendations)
    def next_items(
        bundle: Bundle,
        items: Annotated[str, Query(min_length=1, description="comma-separated item ids, oldest first")],
        k: K = default_k,  # type: ignore[valid-type]
        skip_unknown: Annotated[
            bool, Query(description="leave out ids the bundle does not know (listed in skipped) instead of a 404")
        ] = False,
    ) -> SessionRecommendations:
        """The next song for a sequence of items (a session): item2vec's next-song, the sequential rules and
        co-occurrence, fused (``model`` names them)."""
        sequence = [item for item in items.split(",") if item]
        if not sequence:
            return error(422, "invalid parameter 'items': no item ids", "items")
        unknown = [item for item in sequence if item not in bundle.item_index]
        if unknown and (not skip_unknown or len(unknown) == len(sequence)):
            raise UnknownId("items", ",".join(unknown))  # every unknown id named, not only the first
        known = [item for item in sequence if item in bundle.item_index]
        answer = bundle.next_items(known, k)
        return SessionRecommendations(
            items_in=known, model=bundle.session_blend.members, version=bundle.version, items=answer, skipped=unknown
        )

    return routes
