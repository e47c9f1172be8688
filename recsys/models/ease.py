"""EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): a closed-form item x item model.

B = argmin ||X - XB||^2 + l2 ||B||^2 with diag(B) = 0, solved as P = (X'X + l2 I)^-1, B = -P / diag(P). The solve is
a dense inverse of an items x items matrix, so the model exists only for catalogues up to ``ease.max_items``
(peak memory ~ 4 x items^2 x 4 bytes); larger bundles leave it out and the blend fuses the others. Each item keeps its
``ease.top_n`` largest weights by magnitude, negative ones included: on yes_small's validation split the pruned
matrix scores as well as the dense one (docs/models.md), and it is what the bundle stores and the service loads.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recsys.layout import EASE_WEIGHTS, writable
from recsys.models.base import History, Inputs, recommend_by_scoring
from recsys.settings import EaseSettings

log = logging.getLogger(__name__)


class EASE:
    name = "ease"

    def __init__(self, settings: EaseSettings) -> None:
        self.settings = settings

    @staticmethod
    def fits(settings: EaseSettings, n_items: int) -> bool:
        """Whether a catalogue of ``n_items`` is small enough for the dense solve; logs why not."""
        if n_items <= settings.max_items:
            return True
        log.info("ease left out: %d items, over ease.max_items %d", n_items, settings.max_items)
        return False

    def fit(self, user_items: sp.csr_matrix) -> EASE:
        """The closed-form weights of the binary user x item matrix, pruned to ``top_n`` per item."""
        gram = gram_matrix(user_items.astype(bool).astype(np.float32))
        gram[np.diag_indices_from(gram)] += self.settings.l2
        # scipy inverts float32 in place (numpy's inv would compute in float64 beside two more copies: 2.5x the
        # peak memory at 15,000 items); the penalty keeps the matrix well conditioned for single precision
        weights = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        del gram
        weights /= -np.diag(weights)
        np.fill_diagonal(weights, 0.0)
        self.weights_ = keep_largest(weights, self.settings.top_n)
        return self

    @classmethod
    def train(cls, inputs: Inputs, settings: EaseSettings) -> EASE | None:
        """None where the catalogue is over ``ease.max_items``."""
        if not cls.fits(settings, inputs.tables.n_items):
            return None
        return cls(settings).fit(inputs.history.user_items)

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: EaseSettings) -> EASE | None:
        """The bundle's weights; None where it has none (the catalogue was too large)."""
        path = folder / EASE_WEIGHTS
        if not path.exists():
            return None
        model = cls(settings)
        model.weights_ = sp.load_npz(path).tocsr()  # plain arrays: scipy loads them with allow_pickle=False
        return model

    def save(self, folder: Path) -> None:
        sp.save_npz(writable(folder, EASE_WEIGHTS), self.weights_)

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return recommend_by_scoring(
            lambda block: (block.user_items.astype(bool).astype(np.float32) @ self.weights_).toarray(),
            users,
            history,
            k,
        )


def gram_matrix(binary: sp.csr_matrix, block: int = 512) -> np.ndarray:
    """X'X as a dense float32 array, ``block`` columns at a time: the sparse product of a whole log can hold
    several times the dense result's bytes on the way."""
    n = binary.shape[1]
    gram = np.empty((n, n), dtype=np.float32)
    by_item, columns = binary.T.tocsr(), binary.tocsc()
    for start in range(0, n, block):
        gram[:, start : start + block] = (by_item @ columns[:, start : start + block]).toarray()
    return gram


def keep_largest(weights: np.ndarray, n: int, block: int = 1024) -> sp.csr_matrix:
    """Each row's ``n`` entries of largest magnitude (signs kept), as a sparse matrix of the same shape; rows are
    ranked ``block`` at a time, so the ranking needs no second items x items array."""
    n = min(n, weights.shape[1])
    columns = np.empty((weights.shape[0], n), dtype=np.int64)
    for start in range(0, weights.shape[0], block):
        rows = weights[start : start + block]
        columns[start : start + block] = np.argpartition(-np.abs(rows), n - 1, axis=1)[:, :n]
    rows = np.repeat(np.arange(weights.shape[0]), n)
    kept = sp.csr_matrix((weights[rows, columns.ravel()], (rows, columns.ravel())), shape=weights.shape)
    kept.eliminate_zeros()
    return kept.astype(np.float32)
