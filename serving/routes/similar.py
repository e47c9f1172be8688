"""Neighbours in item2vec's space: similar items, similar users.

No ``from __future__ import annotations`` here: FastAPI must resolve the route signatures' local aliases.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from recsys.settings import ServingSettings
from serving.dependencies import Bundle, k_parameter
from serving.responses import SimilarItems, SimilarUsers


def router(serving: ServingSettings) -> APIRouter:
    routes = APIRouter()
    K, default_k = k_parameter(serving)

    @routes.get("/similar-items", response_model=SimilarItems)
    def similar_items(
        bundle: Bundle,
        item: Annotated[str, Query(min_length=1)],
        k: K = default_k,  # type: ignore[valid-type]
    ) -> SimilarItems:
        """Items whose item2vec vectors are closest by cosine."""
        return SimilarItems(item=item, model="item2vec", version=bundle.version, items=bundle.similar_items(item, k))

    @routes.get("/similar-users", response_model=SimilarUsers)
    def similar_users(
        bundle: Bundle,
        user: Annotated[str, Query(min_length=1)],
        k: K = default_k,  # type: ignore[valid-type]
    ) -> SimilarUsers:
        """Users whose mean item vectors are closest by cosine."""
        return SimilarUsers(user=user, model="item2vec", version=bundle.version, users=bundle.similar_users(user, k))

    return routes
