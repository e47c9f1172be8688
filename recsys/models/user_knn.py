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

import numpy as np
import scipy.sparse as sp

from recsys.models.base import SCORE_BLOCK, History, recommend_by_scoring
from recsys.settings import UserKNNSettings


class UserKNN:
    name = "user_knn"

    def __init__(self, settings: UserKNNSettings) -> None:
        self.settings = settings

    def fit(self, user_items: sp.csr_matrix) -> UserKNN:
        """Index the binary training matrix both ways: items x users (weighted) to find neighbours, users x items
        to score what they hold."""
        binary = user_items.astype(bool).astype(np.float32).tocsr()
        n_users, n_items = binary.shape
        weights = np.ones(n_items, dtype=np.float32)
        if self.settings.idf:
            holders = np.bincount(binary.indices, minlength=n_items)
            weights = np.log(max(n_users, 1) / np.maximum(holders, 1)).astype(np.float32)
        lengths = np.diff(binary.indptr).astype(np.float32)
        damping = 1.0 / np.maximum(lengths, 1.0) ** self.settings.length_exponent
        self.pool_ = binary
        self.by_item_ = (sp.diags(weights) @ binary.T @ sp.diags(damping)).astype(np.float32).tocsr()
        return self

    def neighbours(self, queries: sp.csr_matrix) -> sp.csr_matrix:
        """Each query row's ``neighbours`` most similar pool users and their similarities (queries x pool; at least
        one query row, as recommend_by_scoring's blocks always have)."""
        n_pool = self.pool_.shape[0]
        k = min(self.settings.neighbours, n_pool)
        block = max(1, SCORE_BLOCK // max(1, n_pool))
        parts = []
        for start in range(0, queries.shape[0], block):
            sims = (queries[start : start + block].astype(bool).astype(np.float32) @ self.by_item_).toarray()
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            rows = np.repeat(np.arange(len(sims)), k)
            values = sims[rows, top.ravel()]
            parts.append(sp.csr_matrix((values, (rows, top.ravel())), shape=sims.shape))
        found = sp.vstack(parts).tocsr()
        found.eliminate_zeros()  # a pool user sharing nothing is no neighbour
        return found

    def scores(self, block: History) -> np.ndarray:
        """Dense scores of every item; -inf where no neighbour holds it, so that a blend does not fuse filler."""
        scores = (self.neighbours(block.user_items) @ self.pool_).toarray()
        scores[scores == 0] = -np.inf
        return scores

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return recommend_by_scoring(self.scores, users, history, k)
