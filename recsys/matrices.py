"""Spark's Parquet tables as scipy matrices on one node, streamed column-wise with Arrow (no Python rows), and the
History every model reads them as."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.dataset as ds
import scipy.sparse as sp

from recsys import schemas as S


@dataclass(frozen=True)
class History:
    """What recommenders know of their users: the items each holds, and the latest of them in playlist order.

    ``user_items`` (users x items counts) is also the seen-items filter, applied while ``exclude_seen`` holds
    (a service that recommends listening again turns it off); ``recent`` (users x L item ids, most recent last,
    -1 padded on the left) is what next-song models read. Row u of both is the same user.
    """

    user_items: sp.csr_matrix
    recent: np.ndarray
    exclude_seen: bool = True

    def __post_init__(self) -> None:
        if self.recent.ndim != 2 or self.recent.shape[0] != self.user_items.shape[0]:
            raise ValueError(f"recent is {self.recent.shape}; expected one row per user ({self.user_items.shape[0]})")

    @property
    def n_items(self) -> int:
        return self.user_items.shape[1]

    @property
    def seen(self) -> sp.csr_matrix:
        """What top-k masks: the held items, or nothing when ``exclude_seen`` is off."""
        return self.user_items if self.exclude_seen else sp.csr_matrix(self.user_items.shape, dtype=np.float32)

    def rows(self, users: np.ndarray) -> History:
        """The same history restricted to ``users``, in that order."""
        return History(self.user_items[users], self.recent[users], self.exclude_seen)


def _columns(path: str, schema) -> dict[str, np.ndarray]:
    table = ds.dataset(path, format="parquet").to_table(columns=schema.names).cast(schema)
    return {name: table.column(name).to_numpy() for name in schema.names}


def read_user_items(ratings_path: str, n_users: int, n_items: int) -> sp.csr_matrix:
    """(user_idx, item_idx, count) -> users x items CSR of counts."""
    cols = _columns(ratings_path, S.RATINGS_SCHEMA)
    matrix = sp.csr_matrix(
        (cols[S.COUNT].astype(np.float32), (cols[S.USER_IDX], cols[S.ITEM_IDX])), shape=(n_users, n_items)
    )
    matrix.sort_indices()
    return matrix


def read_item_pairs(path: str, schema, n_items: int) -> sp.csr_matrix:
    """An (item_a, item_b, value) table (co-occurrence counts, transition weights) as an items x items CSR of
    float32 values, row a holding a's pairs."""
    cols = _columns(path, schema)
    values = cols[schema.names[2]].astype(np.float32)
    return sp.csr_matrix((values, (cols[S.ITEM_A], cols[S.ITEM_B])), shape=(n_items, n_items))


def recent_items(sequences: S.Sequences, n_users: int, length: int) -> np.ndarray:
    """Each user's last ``length`` items in playlist order, most recent last: n_users x length, -1 padded left
    (``sequences``: recsys.schemas.read_sequences, read once where a caller also needs the transitions)."""
    users, offsets, values = sequences
    recent = np.full((n_users, length), -1, dtype=np.int32)
    starts, ends = offsets[:-1], offsets[1:]
    for slot in range(length):
        position = ends - length + slot
        valid = position >= starts
        recent[users[valid], slot] = values[position[valid]]
    return recent


def transitions(sequences: S.Sequences, n_items: int) -> sp.csr_matrix:
    """items x items: how often item b directly followed item a in a playlist (row a, column b). Directional,
    unlike the windowed co-occurrence table: the ranker's "what came next after this song" (docs/models.md)."""
    _, offsets, values = sequences
    follows = np.ones(len(values), dtype=bool)
    follows[offsets[:-1][offsets[:-1] < len(values)]] = False  # a list's first item follows nothing
    after = np.nonzero(follows)[0]
    counts = np.ones(len(after), dtype=np.float32)
    matrix = sp.csr_matrix((counts, (values[after - 1], values[after])), shape=(n_items, n_items))
    matrix.sum_duplicates()
    return matrix


def read_history(ratings_path: str, sequences_path: str, n_users: int, n_items: int, recent: int) -> History:
    """Everything models know of users: the ratings matrix and each user's ``recent`` latest items."""
    recent_rows = recent_items(S.read_sequences(sequences_path), n_users, recent)
    return History(read_user_items(ratings_path, n_users, n_items), recent_rows)


def read_holdout(holdout_path: str) -> tuple[np.ndarray, np.ndarray]:
    """(user_idx, item_idx) pairs held out for evaluation, sorted by user."""
    cols = _columns(holdout_path, S.HOLDOUT_SCHEMA)
    order = np.argsort(cols[S.USER_IDX], kind="stable")
    return cols[S.USER_IDX][order].astype(np.int64), cols[S.ITEM_IDX][order].astype(np.int64)


def read_playlist_names(users: Path) -> list[str | None] | None:
    """Each user's name in user_idx order from a users table, or None where the input names no playlist (no title
    model then)."""
    table = pl.read_parquet(users / "*.parquet")
    if S.NAME not in table.columns or table[S.NAME].null_count() == len(table):
        return None
    return table.sort(S.USER_IDX)[S.NAME].to_list()
