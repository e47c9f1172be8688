"""Models whose top k the service finds by index search instead of scoring every item.

At 2.2M items a dense score row is 9 MB to write and sort per user; ALS's factors and item2vec's output vectors
are in FAISS indexes, so one user's top k is one search with the held items excluded inside it: exact for a
``pruned`` or flat index, at the recall the build measured for HNSW (the manifest's ``indexes``). The blend fuses
these lists as it fuses the dense ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsys.index import Index, search
from recsys.models.base import History


@dataclass(frozen=True)
class Searched:
    """A recommender named ``name`` that searches ``index`` with ``queries(users, their rows of the history)``,
    one vector per user; ``trained``: the model whose vectors these are (what the ranker's features read)."""

    name: str
    index: Index
    queries: Callable[[np.ndarray, History], np.ndarray]
    trained: Any

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (item ids, scores) per user, best first, padded with -1 and -inf; held items excluded unless
        ``history.exclude_seen`` is False."""
        rows = history.rows(users)
        vectors, seen = self.queries(users, rows), rows.seen
        ids = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf, dtype=np.float32)
        for row, vector in enumerate(vectors):
            held = seen.indices[seen.indptr[row] : seen.indptr[row + 1]]
            found, found_scores = search(self.index, vector, k, exclude=held)
            ids[row, : len(found)], scores[row, : len(found)] = found, found_scores
        return ids, scores
