"""Item co-occurrence within a playlist window (the table Spark computed): score = sum over the user's items.

Scores stay sparse: a playlist co-occurs with a few thousand of 2.2M tracks, and only those are ranked (an item
that never appeared beside the user's is no candidate, so a blend fuses no arbitrary filler)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recsys import schemas as S
from recsys.matrices import read_item_pairs
from recsys.models.base import History, Inputs, binary_mean_rows, recommend_by_scoring
from recsys.settings import CooccurrenceSettings


class CoOccurrence:
    name = "cooccurrence"

    @classmethod
    def train(cls, inputs: Inputs, settings: CooccurrenceSettings) -> CoOccurrence:
        """The table Spark counted (cooccurrence's settings shaped it there: window, top_n)."""
        return cls().fit(inputs.tables.cooccurrence, inputs.tables.n_items)

    def save(self, folder: Path) -> None:
        """Nothing: Spark wrote the co-occurrence table into the bundle."""

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: CooccurrenceSettings) -> CoOccurrence:
        """Read from the bundle's co-occurrence table."""
        return cls.train(inputs, settings)

    def fit(self, cooccurrence_path: str, n_items: int) -> CoOccurrence:
        """Load (item_a, item_b, count) as a sparse item x item matrix."""
        self.matrix_ = read_item_pairs(cooccurrence_path, S.COOCCURRENCE_SCHEMA, n_items)
        return self

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return recommend_by_scoring(lambda block: binary_mean_rows(block.user_items) @ self.matrix_, users, history, k)
