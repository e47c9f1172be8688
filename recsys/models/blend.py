"""Weighted reciprocal-rank fusion of several models' top lists, served and evaluated like any single model.

Each model ranks its top ``depth`` items per user; an item scores ``sum(weight / (rank_offset + rank))`` over the
lists it appears in (Cormack et al. 2009, with per-model weights). Ranks, not raw scores, are fused because the
models' scores live on unrelated scales (dot products, cosines, counts). Weights are chosen on a validation split
carved out of the training data (bench/tune.py; docs/models.md).
"""

from __future__ import annotations

import numpy as np

from recsys.models.base import SCORE_BLOCK, History, Recommender, top_k
from recsys.settings import BlendSettings


def fuse(ranked: list[np.ndarray], weights: list[float], n_items: int, rank_offset: float) -> np.ndarray:
    """Dense fused scores from each model's ranked ids (users x depth, -1 padded); items in no list score -inf."""
    scores = np.zeros((ranked[0].shape[0], n_items), dtype=np.float32)
    for ids, weight in zip(ranked, weights, strict=True):
        rows, ranks = np.nonzero(ids >= 0)  # a model lists an item at most once per user
        scores[rows, ids[rows, ranks]] += weight / (rank_offset + 1 + ranks).astype(np.float32)
    scores[scores == 0] = -np.inf
    return scores


class Blend:
    name = "blend"

    def __init__(self, models: list[Recommender], weights: list[float], depth: int, rank_offset: float) -> None:
        if len(models) != len(weights) or not any(weights) or min(weights) < 0:
            raise ValueError(f"a blend needs one weight >= 0 per model, some > 0; got {len(models)} models, {weights}")
        self.models, self.weights, self.depth, self.rank_offset = models, weights, depth, rank_offset

    @classmethod
    def of(cls, models: list[Recommender], settings: BlendSettings) -> Blend:
        """The fusion of ``models``, each weighted by the ``blend`` setting named after it."""
        return cls(models, [getattr(settings, model.name) for model in models], settings.depth, settings.rank_offset)

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each model ranks the users (by their own ids: ALS looks up its factors) ``depth`` deep, or ``k`` deep
        when more is asked for (so a blend answers as many items as any model), then the lists are fused."""
        depth = max(self.depth, k)
        ranked = {model.name: model.recommend(users, history, depth)[0] for model, _ in self._used()}
        return self.fuse_ranked(ranked, users, history, k)

    def fuse_ranked(
        self, ranked: dict[str, np.ndarray], users: np.ndarray, history: History, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fuse lists the models already ranked for ``users`` (by model name, users x at least max(depth, k), -1
        padded): the evaluation ranks every member anyway, and hands its lists over instead of ranking twice."""
        used, depth = self._used(), max(self.depth, k)
        weights = [weight for _, weight in used]
        block = max(1, SCORE_BLOCK // max(1, history.n_items))
        ids, scores = [], []
        for start in range(0, len(users), block):
            lists = [ranked[model.name][start : start + block, :depth] for model, _ in used]
            fused = fuse(lists, weights, history.n_items, self.rank_offset)
            block_ids, block_scores = top_k(fused, history.rows(users[start : start + block]).seen, k)
            ids.append(block_ids)
            scores.append(block_scores)
        if not ids:
            return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
        return np.vstack(ids), np.vstack(scores)

    def _used(self) -> list[tuple[Recommender, float]]:
        """The models with a weight, and their weights."""
        return [(model, weight) for model, weight in zip(self.models, self.weights, strict=True) if weight]
