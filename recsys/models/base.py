"""The one interface every model family implements, and the shared top-k machinery.

Batch-first, as implicit does it: ``recommend(users, history, k) -> (ids, scores)`` with one row per user,
items the user already holds excluded (unless ``history.exclude_seen`` is False), best first, rows padded with
id -1 and score -inf when fewer than k remain.
Fitted attributes end in ``_``; nothing is computed in ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np
import scipy.sparse as sp

from recsys import schemas as S
from recsys.layout import Tables
from recsys.matrices import History
from recsys.progress import Progress

#: Upper bound on the dense score block (users x items floats) scored at once.
SCORE_BLOCK = 32_000_000


@dataclass(frozen=True)
class Inputs:
    """What a registered model is trained or loaded on: one set of tables, the history read from them once for
    every model, the job's Spark session (only als.backend=spark uses it; None outside a Spark job), and what the
    models built from others read: the playlists' names (the title model), the trees a split of the log taught
    (the ranker), and ``models``, those registered before it, as trained or as served (the blend's members)."""

    tables: Tables
    history: History
    spark: Any = None
    playlist_names: Sequence[str | None] | None = None  # user_idx order, where the input named its playlists
    trees: Any = None  # LightGBM's booster (recsys.registry.train_trees), where one was trained
    models: Mapping[str, Any] = field(default_factory=dict)
    sequences: S.Sequences | None = None  # the sequences table, where the caller read it already

    def read_sequences(self) -> S.Sequences:
        """The sequences table: the one the caller read, else read now."""
        return S.read_sequences(self.tables.sequences) if self.sequences is None else self.sequences


class Recommender(Protocol):
    name: str

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (item ids, scores) for each row index in ``users`` of ``history``, seen items excluded unless
        ``history.exclude_seen`` is False."""
        ...


class Registered(Protocol):
    """A model as the build, the bundle and the service see it (recsys/registry.py lists them, each after the
    ones it is built from): ``train`` on a build's inputs (None: left out, as EASE over ``ease.max_items``, or
    what it needs is missing, as the title model without names), ``save`` into a bundle folder (arrays only, never
    pickle; a memory-based model saves nothing, the bundle's tables are its state), ``load`` back from one
    (None: the bundle has none).

    ``settings`` is the model's own section, the one named after it (``als`` for ALS: implicit's way, plain
    parameters rather than the whole configuration), None for a model without one (registry.section)."""

    name: str

    @classmethod
    def train(cls, inputs: Inputs, settings: Any) -> Self | None: ...

    def save(self, folder: Path) -> None: ...

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: Any) -> Self | None: ...


class Family(Registered, Recommender, Protocol):
    """A registered model that ranks items for a user: what ``model=`` names."""


class ScoreFn(Protocol):
    def __call__(self, block: History) -> np.ndarray | sp.spmatrix: ...


def top_k(scores: np.ndarray | sp.spmatrix, seen: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns per row of ``scores`` (a dense one modified in place) after masking the ``seen`` pattern.

    Sparse scores rank their stored nonzero entries only: an item nothing scored is no candidate (padding), and a
    row over 2.2M items costs what it holds, not a dense row to write and partition."""
    if sp.issparse(scores):
        return _sparse_top_k(sp.csr_matrix(scores), seen, k)
    rows, cols = seen.nonzero()
    scores[rows, cols] = -np.inf
    k_eff = min(k, scores.shape[1])
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1).astype(np.int64)
    best = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    ids[~np.isfinite(best)] = -1
    if k_eff < k:
        ids = np.pad(ids, ((0, 0), (0, k - k_eff)), constant_values=-1)
        best = np.pad(best, ((0, 0), (0, k - k_eff)), constant_values=-np.inf)
    return ids, best


def _sparse_top_k(scores: sp.csr_matrix, seen: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """top_k over the stored nonzeros of each row, its seen items dropped: row by row, with no sparse operation
    to build (each costs more than the partition itself when the service asks for one user)."""
    ids = np.full((scores.shape[0], k), -1, dtype=np.int64)
    best = np.full((scores.shape[0], k), -np.inf, dtype=np.float32)
    for row in range(scores.shape[0]):
        lo, hi = scores.indptr[row], scores.indptr[row + 1]
        data, columns = scores.data[lo:hi], scores.indices[lo:hi]
        keep = data != 0
        held = seen.indices[seen.indptr[row] : seen.indptr[row + 1]]
        if len(held):
            keep &= ~np.isin(columns, held)
        data, columns = data[keep], columns[keep]
        if len(data) > k:
            part = np.argpartition(-data, k - 1)[:k]
            data, columns = data[part], columns[part]
        order = np.argsort(-data, kind="stable")
        ids[row, : len(order)], best[row, : len(order)] = columns[order], data[order]
    return ids, best


def recommend_by_scoring(
    score_block: ScoreFn, users: np.ndarray, history: History, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``score_block(history of a block of users) -> scores`` (dense, or sparse where most items score
    nothing) over blocks that fit SCORE_BLOCK, then top-k."""

    def rank(block: slice) -> tuple[np.ndarray, np.ndarray]:
        rows = history.rows(users[block])
        return top_k(score_block(rows), rows.seen, k)

    return in_blocks(len(users), max(1, SCORE_BLOCK // max(1, history.n_items)), rank, k)


def in_blocks(
    n_users: int, block: int, rank: Callable[[slice], tuple[np.ndarray, np.ndarray]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``rank(slice of users) -> (ids, scores)`` over consecutive blocks of ``block`` users, stacked; the one loop
    behind every batch recommend, so that memory stays bounded and progress is logged alike."""
    ids, scores = [], []
    progress = Progress("scoring", n_users, "users")
    for start in range(0, n_users, block):
        block_ids, block_scores = rank(slice(start, start + block))
        ids.append(block_ids)
        scores.append(block_scores)
        progress.advance(len(block_ids))
    if not ids:
        return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
    return np.vstack(ids), np.vstack(scores)


def binary_mean_rows(user_items: sp.csr_matrix) -> sp.csr_matrix:
    """Each row's distinct items (a canonical CSR: no duplicates) with weight 1/|items|: multiplying by item
    vectors gives their mean."""
    counts = np.diff(user_items.indptr)
    weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32)
    return sp.csr_matrix((weights, user_items.indices, user_items.indptr), shape=user_items.shape)
