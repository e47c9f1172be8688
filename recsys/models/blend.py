"""Weighted reciprocal-rank fusion of several models' top lists, served and evaluated like any single model.

Each model ranks its top ``depth`` items per user; an item scores ``sum(weight / (rank_offset + rank))`` over the
lists it appears in (Cormack et al. 2009, with per-model weights). Ranks, not raw scores, are fused because the
models' scores live on unrelated scales (dot products, cosines, counts). Weights are chosen on a validation split
carved out of the training data (bench/tune.py; docs/models.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys.models.base import History, Inputs, Recommender, in_blocks, top_k
from recsys.settings import BlendSettings

#: Users fused at once: their lists' entries (users x depth x models) bound the memory, not the catalogue.
FUSE_BLOCK = 4096


def fuse(ranked: list[np.ndarray], weights: list[float], n_items: int, rank_offset: float) -> sp.csr_matrix:
    """Fused scores from each model's ranked ids (users x depth, -1 padded), sparse: an item in no list has no
    entry, so the cost follows the lists' length, not the catalogue's."""
    rows, items, scores = [], [], []
    for ids, weight in zip(ranked, weights, strict=True):
        row, rank = np.nonzero(ids >= 0)  # a model lists an item at most once per user
        rows.append(row)
        items.append(ids[row, rank])
        scores.append(weight / (rank_offset + 1 + rank).astype(np.float32))
    fused = sp.csr_matrix(
        (np.concatenate(scores), (np.concatenate(rows), np.concatenate(items))), shape=(ranked[0].shape[0], n_items)
    )
    fused.sum_duplicates()
    return fused


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

    @classmethod
    def train(cls, inputs: Inputs, settings: BlendSettings) -> Blend:
        """The fusion of the models registered before it that have a weight here (popularity has none: it is the
        fallback), as ``inputs`` holds them: as trained, or as the service serves them (searched in FAISS)."""
        return cls.of([model for name, model in inputs.models.items() if name in BlendSettings.model_fields], settings)

    def save(self, folder: Path) -> None:
        """Nothing to write: a blend is its settings, which the manifest holds."""

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: BlendSettings) -> Blend:
        """The same fusion of the loaded members."""
        return cls.train(inputs, settings)

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

        def rank(block: slice) -> tuple[np.ndarray, np.ndarray]:
            fused = fuse(
                [ranked[model.name][block, :depth] for model, _ in used], weights, history.n_items, self.rank_offset
            )
            return top_k(fused, history.rows(users[block]).seen, k)

        return in_blocks(len(users), FUSE_BLOCK, rank, k)

    @property
    def members(self) -> str:
        """The models it fuses (those with a weight), as a response names them: "item2vec+sequential"."""
        return "+".join(model.name for model, _ in self._used())

    def _used(self) -> list[tuple[Recommender, float]]:
        """The models with a weight, and their weights."""
        return [(model, weight) for model, weight in zip(self.models, self.weights, strict=True) if weight]
