"""How much implicit-feedback ALS trusts each observed count: confidence = 1 + alpha * t(count).

Hu, Koren & Volinsky (2008) give t(r) = r and t(r) = log(1 + r / epsilon); BM25 weighting (as implicit's examples
use it for play counts) damps heavy users and common items. Every ALS backend minimises the same objective with
these confidences, so switching backends does not switch models.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.settings import ALSSettings


def preference_weights(user_items: sp.csr_matrix, settings: ALSSettings) -> sp.csr_matrix:
    """t(count) for every stored (user, item), same sparsity pattern, float32."""
    weights = user_items.astype(np.float32, copy=True)
    counts = weights.data
    if settings.confidence == "log":
        weights.data = np.log1p(counts / settings.log_epsilon)
    elif settings.confidence == "bm25":
        k1, b = settings.bm25_k1, settings.bm25_b
        n_users = max(user_items.shape[0], 1)
        idf = np.log(n_users) - np.log1p(np.bincount(weights.indices, minlength=user_items.shape[1]))
        row_sums = np.asarray(weights.sum(axis=1)).ravel()
        length_norm = (1.0 - b) + b * row_sums / max(row_sums.mean(), 1e-12)
        rows = np.repeat(np.arange(user_items.shape[0]), np.diff(weights.indptr))
        bm25 = counts * (k1 + 1.0) / (k1 * length_norm[rows] + counts) * idf[weights.indices]
        weights.data = np.maximum(bm25, 0.0).astype(np.float32)  # an item in most playlists has idf < 0
    return weights


def confidence(user_items: sp.csr_matrix, settings: ALSSettings) -> sp.csr_matrix:
    """1 + alpha * t(count) for every stored (user, item): the values implicit and the torch solver train on."""
    weights = preference_weights(user_items, settings)
    weights.data = (1.0 + settings.alpha * weights.data).astype(np.float32)
    return weights
