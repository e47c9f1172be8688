"""Most-held items first: the baseline every other model must beat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys.models.base import History, Inputs, recommend_by_scoring


class Popularity:
    name = "popularity"

    @classmethod
    def train(cls, inputs: Inputs, settings: None = None) -> Popularity:
        return cls().fit(inputs.history.user_items)

    def save(self, folder: Path) -> None:
        """Nothing: counted from the ratings, which the bundle holds."""

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: None = None) -> Popularity:
        """Counted again from the bundle's ratings."""
        return cls.train(inputs, settings)

    def fit(self, user_items: sp.csr_matrix) -> Popularity:
        """Score = number of users holding the item."""
        self.item_users_ = np.asarray((user_items > 0).sum(axis=0)).ravel().astype(np.float32)
        return self

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return recommend_by_scoring(lambda block: np.tile(self.item_users_, (len(block.recent), 1)), users, history, k)
