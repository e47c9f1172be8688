"""Ranking metrics as pure functions of (recommended ids per user, relevant ids per user).

``recommended`` is an (n_users, >= k) int array, best first, -1 for padding; ``relevant`` is a list of
int arrays, one per user. Each function returns the mean over users.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _hits(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Boolean (n_users, k): is the item at each rank relevant."""
    top = recommended[:, :k]
    return np.array([np.isin(row, rel) & (row >= 0) for row, rel in zip(top, relevant, strict=True)]).reshape(
        len(relevant), top.shape[1]
    )


def recall_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Mean of hits / |relevant| (the un-normalised recall: with one held-out item, the hit rate)."""
    hits = _hits(recommended, relevant, k).sum(axis=1)
    sizes = np.array([len(rel) for rel in relevant], dtype=np.float64)
    return float(np.mean(hits / sizes)) if len(relevant) else 0.0


def ndcg_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Binary-relevance NDCG: DCG of the hits over the DCG of min(k, |relevant|) hits at the top."""
    hits = _hits(recommended, relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    ideal = np.array([discounts[: min(k, len(rel))].sum() for rel in relevant])
    return float(np.mean(dcg / ideal)) if len(relevant) else 0.0
