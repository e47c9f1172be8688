"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through the implicit library, on GPU when it reports CUDA."""

from __future__ import annotations

import logging

import implicit.gpu
import numpy as np
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recsys.models.base import History
from recsys.settings import ALSSettings

log = logging.getLogger(__name__)


def use_gpu(setting: str) -> bool:
    """'auto' follows implicit's own CUDA probe; 'true' insists (and fails clearly without CUDA)."""
    if setting == "true" and not implicit.gpu.HAS_CUDA:
        raise RuntimeError("als.use_gpu=true but implicit was built without CUDA (its GPU build comes from conda)")
    return setting == "true" or (setting == "auto" and implicit.gpu.HAS_CUDA)


class ALS:
    name = "als"

    def __init__(self, settings: ALSSettings) -> None:
        self.settings = settings

    def fit(self, user_items: sp.csr_matrix) -> ALS:
        """Fit on raw counts; implicit applies confidence = 1 + alpha * count."""
        s = self.settings
        gpu = use_gpu(s.use_gpu)
        log.info("ALS: %d users x %d items, %d factors, on %s", *user_items.shape, s.factors, "GPU" if gpu else "CPU")
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads slow it down
            self.model_ = AlternatingLeastSquares(
                factors=s.factors,
                regularization=s.regularization,
                alpha=s.alpha,
                iterations=s.iterations,
                random_state=s.seed,
                use_gpu=gpu,
            )
            self.model_.fit(user_items.astype(np.float32), show_progress=False)
        if gpu:
            self.model_ = self.model_.to_cpu()
        self.user_factors_ = np.ascontiguousarray(self.model_.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(self.model_.item_factors, dtype=np.float32)
        return self

    @classmethod
    def from_factors(cls, settings: ALSSettings, user_factors: np.ndarray, item_factors: np.ndarray) -> ALS:
        """Wrap factors trained elsewhere (Spark MLlib) so they recommend through implicit's same code path."""
        als = cls(settings)
        with threadpool_limits(1, "blas"):  # implicit checks the BLAS threadpool when constructed
            als.model_ = AlternatingLeastSquares(factors=user_factors.shape[1], use_gpu=False)
        als.model_.user_factors, als.model_.item_factors = user_factors, item_factors
        als.user_factors_, als.item_factors_ = user_factors, item_factors
        return als

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        """implicit's own batched recommend, already-held items filtered."""
        users = np.asarray(users)
        ids, scores = self.model_.recommend(users, history.user_items[users], N=k, filter_already_liked_items=True)
        ids = np.asarray(ids, dtype=np.int64).reshape(len(users), -1)
        scores = np.asarray(scores, dtype=np.float32).reshape(len(users), -1)
        scores[ids < 0] = -np.inf
        return ids, scores
