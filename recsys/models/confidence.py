"""How much implicit-feedback ALS trusts each observed count: confidence = 1 + alpha * t(count).

Hu, Koren & Volinsky (2008) give t(r) = r and t(r) = log(1 + r / epsilon); BM25 weighting (as implicit's examples
use it for play counts) damps heavy users and common items. Every ALS backend minimises the same objective with
these confidences, so switching backends does not switch models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.settings import ALSSettings


@dataclass(frozen=True)
class Collection:
    """What BM25 needs to know of the training matrix, so that a user folded in later is weighted the same way."""

    n_users: int
    holders: np.ndarray  # how many users hold each item
    mean_length: float  # mean over users of their summed counts

    @classmethod
    def of(cls, user_items: sp.csr_matrix) -> Collection:
        holders = np.bincount(user_items.indices, minlength=user_items.shape[1])
        return cls(user_items.shape[0], holders, float(np.asarray(user_items.sum(axis=1)).mean()))


def preference_weights(
    user_items: sp.csr_matrix, settings: ALSSettings, collection: Collection | None = None
) -> sp.csr_matrix:
    """t(count) for every stored (user, item), same sparsity pattern, float32.

    BM25's statistics come from ``collection`` (the training matrix), or from ``user_items`` itself.
    """
    weights = user_items.astype(np.float32, copy=True)
    counts = weights.data
    if settings.confidence == "log":
        weights.data = np.log1p(counts / settings.log_epsilon)
    elif settings.confidence == "bm25":
        k1, b = settings.bm25_k1, settings.bm25_b
        stats = collection or Collection.of(user_items)
        idf = np.log(max(stats.n_users, 1)) - np.log1p(stats.holders)
        row_sums = np.asarray(weights.sum(axis=1)).ravel()
        length_norm = (1.0 - b) + b * row_sums / max(stats.mean_length, 1e-12)
        rows = np.repeat(np.arange(user_items.shape[0]), np.diff(weights.indptr))
        bm25 = counts * (k1 + 1.0) / (k1 * length_norm[rows] + counts) * idf[weights.indices]
        weights.data = np.maximum(bm25, 0.0).astype(np.float32)  # an item in most playlists has idf < 0
    return weights


def confidence(user_items: sp.csr_matrix, settings: ALSSettings, collection: Collection | None = None) -> sp.csr_matrix:
    """1 + alpha * t(count) for every stored (user, item): the values implicit and the torch solver train on."""
    weights = preference_weights(user_items, settings, collection)
    weights.data = (1.0 + settings.alpha * weights.data).astype(np.float32)
    return weights
