"""User-based nearest neighbours: items held by the users (playlists) most like this one.

Session kNN in Ludewig & Jannach's comparisons ("Evaluation of session-based recommendation algorithms", 2018),
where it is among the strongest models on music playlists. It is memory-based: fitting only indexes the training
matrix, so nothing is stored in the bundle beyond the ratings the service already loads.

Similarity of a query user q to a pool user v: the idf-weighted count of the items they share, divided by
|v| ** ``length_exponent`` (long playlists share something with everyone). An item scores the sum of the
similarities of the ``neighbours`` most similar users that hold it. A known user's own row is among its neighbours;
it holds only items the user has seen, which are filtered, so it costs one neighbour slot and changes nothing else
(with ``history.exclude_seen`` off, its similarity, usually among the largest, adds to each of the user's own
items).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys.models.base import History, Inputs, recommend_by_scoring
from recsys.settings import UserKNNSettings

#: Query rows whose sparse similarities are computed at once.
NEIGHBOUR_BLOCK = 1024


class UserKNN:
    name = "user_knn"

    def __init__(self, settings: UserKNNSettings) -> None:
        self.settings = settings

    @classmethod
    def train(cls, inputs: Inputs, settings: UserKNNSettings) -> UserKNN:
        return cls(settings).fit(inputs.history.user_items)

    def save(self, folder: Path) -> None:
        """Nothing: memory-based, it indexes the ratings, which the bundle holds."""

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: UserKNNSettings) -> UserKNN:
        """The bundle's ratings indexed again."""
        return cls.train(inputs, settings)

    def fit(self, user_items: sp.csr_matrix) -> UserKNN:
        """Index the binary training matrix both ways: items x users (weighted) to find neighbours, users x items
        to score what they hold."""
        user_items = user_items.tocsr()
        n_users, n_items = user_items.shape
        binary = sp.csr_matrix(  # shares the index arrays: only the values are new
            ((user_items.data != 0).astype(np.float32), user_items.indices, user_items.indptr), shape=user_items.shape
        )
        weights = np.ones(n_items, dtype=np.float32)
        if self.settings.idf:
            holders = np.bincount(binary.indices, minlength=n_items)
            weights = np.log(max(n_users, 1) / np.maximum(holders, 1)).astype(np.float32)
        lengths = np.diff(binary.indptr)
        damping = 1.0 / np.maximum(lengths.astype(np.float32), 1.0) ** self.settings.length_exponent
        self.pool_ = binary
        # weights[item] * damping[user] at each held pair, transposed: the two diagonal scalings without the
        # sparse products and their copies of the matrix
        scaled = binary.data * weights[binary.indices] * np.repeat(damping, lengths)
        self.by_item_ = sp.csr_matrix((scaled, binary.indices, binary.indptr), shape=binary.shape).T.tocsr()
        self.by_item_.eliminate_zeros()  # items every user holds weigh nothing, as the sparse products dropped
        return self

    def neighbours(self, queries: sp.csr_matrix) -> sp.csr_matrix:
        """Each query row's ``neighbours`` most similar pool users and their similarities (queries x pool).

        The similarities stay sparse: a query shares items with a few thousand of a million playlists, and its top
        k is chosen among those (argpartition over a row's nonzeros), never over a dense row of every pool user.
        A pool user sharing nothing is no neighbour."""
        k = min(self.settings.neighbours, self.pool_.shape[0])
        parts = []
        for start in range(0, queries.shape[0], NEIGHBOUR_BLOCK):
            sims = (queries[start : start + NEIGHBOUR_BLOCK].astype(bool).astype(np.float32) @ self.by_item_).tocsr()
            sims.eliminate_zeros()
            keep = np.zeros(sims.nnz, dtype=bool)
            for row in range(sims.shape[0]):
                lo, hi = sims.indptr[row], sims.indptr[row + 1]
                if hi - lo <= k:
                    keep[lo:hi] = True
                else:
                    keep[lo + np.argpartition(-sims.data[lo:hi], k - 1)[:k]] = True
            rows = np.repeat(np.arange(sims.shape[0]), np.diff(sims.indptr))[keep]
            parts.append(sp.csr_matrix((sims.data[keep], (rows, sims.indices[keep])), shape=sims.shape))
        return sp.vstack(parts).tocsr() if parts else sp.csr_matrix((0, self.pool_.shape[0]), dtype=np.float32)

    def scores(self, block: History) -> sp.csr_matrix:
        """Sparse scores: only items some neighbour holds are candidates, so that a blend does not fuse filler."""
        return self.neighbours(block.user_items) @ self.pool_

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return recommend_by_scoring(self.scores, users, history, k)
