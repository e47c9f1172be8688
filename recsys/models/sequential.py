"""Sequential rules (SR; Ludewig & Jannach, "Evaluation of session-based recommendation algorithms", 2018): what
follows the user's latest tracks, from the directed table Spark counted (recsys/spark/tables.py transitions).

A track's followers are weighted by 1 / gap over every playlist, the ``top_n`` heaviest kept; a user's score for
b sums the followers' weights of its latest items (``History.recent``), each step back weighted ``decay`` times
less. Counted exactly, linear in the log and with no epochs, it carries next-song where item2vec's epochs cost
too much (the MPD's size: docs/models.md). Sparse like co-occurrence: only followers are candidates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys import schemas as S
from recsys.matrices import read_item_pairs
from recsys.models.base import History, Inputs, recommend_by_scoring
from recsys.settings import SequentialSettings


class SequentialRules:
    name = "sequential"

    def __init__(self, decay: float) -> None:
        self.decay = decay

    @classmethod
    def train(cls, inputs: Inputs, settings: SequentialSettings) -> SequentialRules:
        """The table Spark counted (the window, top_n and pair cap shaped it there)."""
        return cls(settings.decay).fit(inputs.tables.transitions, inputs.tables.n_items)

    def save(self, folder: Path) -> None:
        """Nothing: Spark wrote the transitions table into the bundle."""

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: SequentialSettings) -> SequentialRules | None:
        """Read from the bundle's transitions table; None where it has none (built before this family was)."""
        return cls.train(inputs, settings) if Path(inputs.tables.transitions).exists() else None

    def fit(self, transitions_path: str, n_items: int) -> SequentialRules:
        """Load (item_a, item_b, weight) as a sparse item x item matrix: row a holds what follows a."""
        self.matrix_ = read_item_pairs(transitions_path, S.TRANSITIONS_SCHEMA, n_items)
        return self

    def recency_weights(self, recent: np.ndarray, n_items: int) -> sp.csr_matrix:
        """users x items: ``decay`` ** steps back for each of the latest items (a repeated item adds up)."""
        steps = np.arange(recent.shape[1] - 1, -1, -1, dtype=np.float32)
        rows, slots = np.nonzero(recent >= 0)
        weights = sp.csr_matrix(
            (self.decay ** steps[slots], (rows, recent[rows, slots])), shape=(recent.shape[0], n_items)
        )
        weights.sum_duplicates()
        return weights

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return recommend_by_scoring(
            lambda block: self.recency_weights(block.recent, block.n_items) @ self.matrix_, users, history, k
        )
