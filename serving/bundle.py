"""A published bundle loaded for serving: id maps, metadata, vectors, FAISS indexes and seen items.

Loaded once at start-up (after its checksums verify); read-only afterwards, so requests share it freely.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys import artifacts
from recsys import pipeline as paths
from recsys import schemas as S
from recsys.index import load_index, search
from recsys.matrices import read_user_items
from recsys.models.base import l2_normalize

log = logging.getLogger(__name__)


class UnknownId(LookupError):
    """A user or item id that is not in the bundle; ``parameter`` names the query parameter."""

    def __init__(self, parameter: str, value: str) -> None:
        super().__init__(f"unknown {parameter} {value!r}")
        self.parameter = parameter
        self.value = value


def _read_parquet_folder(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(folder / "*.parquet")


@dataclass(frozen=True)
class LoadedBundle:
    folder: Path
    version: str
    user_ids: list[str]
    user_index: dict[str, int]
    items: pl.DataFrame  # item_idx order; item_id plus metadata columns
    item_index: dict[str, int]
    seen: sp.csr_matrix
    als_user_factors: np.ndarray
    item2vec_user_vectors: np.ndarray  # L2-normalised: the cosine indexes' queries
    item2vec_item_vectors: np.ndarray
    items_als: faiss.Index
    items_item2vec: faiss.Index
    users_item2vec: faiss.Index

    @classmethod
    def load(cls, folder: Path) -> LoadedBundle:
        manifest = artifacts.verify(folder)
        users = _read_parquet_folder(folder / paths.USERS).sort(S.USER_IDX)
        items = _read_parquet_folder(folder / paths.ITEMS).sort(S.ITEM_IDX)
        user_ids = users[S.USER_ID].to_list()
        item_ids = items[S.ITEM_ID].to_list()
        bundle = cls(
            folder=folder,
            version=manifest["version"],
            user_ids=user_ids,
            user_index={uid: i for i, uid in enumerate(user_ids)},
            items=items.drop(S.ITEM_IDX),
            item_index={iid: i for i, iid in enumerate(item_ids)},
            seen=read_user_items(str(folder / paths.RATINGS), len(user_ids), len(item_ids)),
            als_user_factors=np.load(folder / paths.ALS_USER_FACTORS),
            item2vec_user_vectors=l2_normalize(np.load(folder / paths.ITEM2VEC_USER_VECTORS)),
            item2vec_item_vectors=l2_normalize(np.load(folder / paths.ITEM2VEC_ITEM_VECTORS)),
            items_als=load_index(folder / paths.INDEX_ITEMS_ALS),
            items_item2vec=load_index(folder / paths.INDEX_ITEMS_ITEM2VEC),
            users_item2vec=load_index(folder / paths.INDEX_USERS_ITEM2VEC),
        )
        log.info("loaded bundle %s: %d users, %d items", folder, len(user_ids), len(item_ids))
        return bundle

    def user(self, user_id: str) -> int:
        try:
            return self.user_index[user_id]
        except KeyError:
            raise UnknownId("user", user_id) from None

    def item(self, item_id: str) -> int:
        try:
            return self.item_index[item_id]
        except KeyError:
            raise UnknownId("item", item_id) from None

    def describe_items(self, ids: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
        """Items with their score and every metadata column (item_id renamed to item)."""
        rows = self.items[ids.tolist()].to_dicts()
        return [
            {"item": row.pop(S.ITEM_ID), "score": float(score), **row} for row, score in zip(rows, scores, strict=True)
        ]

    def recommend(self, user_id: str, k: int) -> list[dict[str, Any]]:
        """ALS: the user's factors against every item factor, items the user holds filtered inside FAISS."""
        u = self.user(user_id)
        seen = self.seen.indices[self.seen.indptr[u] : self.seen.indptr[u + 1]]
        ids, scores = search(self.items_als, self.als_user_factors[u], k, exclude=seen)
        return self.describe_items(ids, scores)

    def similar_items(self, item_id: str, k: int) -> list[dict[str, Any]]:
        """item2vec cosine neighbours, the item itself excluded."""
        i = self.item(item_id)
        ids, scores = search(self.items_item2vec, self.item2vec_item_vectors[i], k, exclude=np.array([i]))
        return self.describe_items(ids, scores)

    def similar_users(self, user_id: str, k: int) -> list[dict[str, Any]]:
        """Users whose mean item2vec vector is closest by cosine, the user excluded."""
        u = self.user(user_id)
        ids, scores = search(self.users_item2vec, self.item2vec_user_vectors[u], k, exclude=np.array([u]))
        return [{"user": self.user_ids[j], "score": float(s)} for j, s in zip(ids, scores, strict=True)]
