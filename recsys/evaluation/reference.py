"""implicit's ALS called directly with the library's own defaults: the report's external reference row.

It is what a user gets by handing the same training matrix to implicit without this project (raw counts as
confidences, 100 factors, regularisation 0.01, 15 iterations), so the report shows what the pipeline's choices
(BM25 confidences, tuned settings) add, or cost, against the library it wraps.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recsys.models.als import implicit_recommend
from recsys.models.base import History


class ImplicitDirect:
    name = "implicit_direct"

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, user_items: sp.csr_matrix) -> ImplicitDirect:
        with threadpool_limits(1, "blas"):  # implicit's own advice: its threads, not BLAS's
            self.model_ = AlternatingLeastSquares(random_state=self.seed, use_gpu=False)
            self.model_.fit(user_items.astype(np.float32).tocsr(), show_progress=False)
        return self

    def fold_in_users(self, users: np.ndarray, user_items: sp.csr_matrix) -> None:
        """Factors for users left out of training, from their given items (implicit's recalculate_user)."""
        with threadpool_limits(1, "blas"):
            factors = self.model_.recalculate_user(users, user_items[users].astype(np.float32))
        self.model_.user_factors[users] = np.asarray(factors).reshape(len(users), -1)

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return implicit_recommend(self.model_, users, history, k)
