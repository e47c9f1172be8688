"""Continuing playlists the models were not trained on, from their seed tracks and their names.

This is the RecSys Challenge 2018's task: jobs/challenge.py answers a challenge set with it, and the evaluation's
challenge split measures it. Every blend member ranks the playlists that have seeds (a member asked about an empty
playlist would rank arbitrary ties); the title model ranks those that have a name; the lists fuse as the blend
fuses them (the ``blend`` weights, ``blend.title`` for the title's). A list still short of k (a title whose
playlists hold few tracks, members that found little) is completed with the most popular tracks, so every playlist
gets exactly k distinct tracks, none of them a seed, as a submission must.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.models.base import History, Recommender
from recsys.models.blend import Blend
from recsys.models.title import TitleModel
from recsys.settings import BlendSettings


@dataclass(frozen=True)
class Titles:
    """The title model as a blend member: ``names[row]`` names that row of the history it ranks (None: no name)."""

    model: TitleModel
    names: Sequence[str | None]
    name: ClassVar[str] = "title"

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The title model's top k for each named user, held items excluded; -1 rows for users without a name."""
        ids = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf, dtype=np.float32)
        named = np.array([i for i, user in enumerate(users) if self.names[user]], dtype=np.int64)
        if len(named):
            names = [self.names[user] or "" for user in users[named]]
            ids[named], scores[named] = self.model.top(names, history.rows(users[named]).seen, k)
        return ids, scores


def seeded_history(sequences: Sequence[np.ndarray], n_items: int, context: int) -> History:
    """A History of playlists given as item-index sequences (oldest first): their counts, and their latest
    ``context`` items for the next-song models."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    rows = np.repeat(np.arange(len(sequences)), lengths)
    items = np.concatenate(sequences).astype(np.int64) if len(sequences) else np.empty(0, np.int64)
    held = sp.csr_matrix((np.ones(len(items), np.float32), (rows, items)), shape=(len(sequences), n_items))
    held.sum_duplicates()
    recent = np.full((len(sequences), context), -1, dtype=np.int32)
    for row, sequence in enumerate(sequences):
        tail = sequence[-context:] if context else sequence[:0]
        recent[row, context - len(tail) :] = tail
    return History(held, recent)


def continue_playlists(
    members: list[Recommender],
    titles: Titles | None,
    blend: BlendSettings,
    users: np.ndarray,
    history: History,
    popular: np.ndarray,
    k: int,
) -> np.ndarray:
    """k track indexes for each of ``users`` (rows of ``history``), best first: the fused lists of the members
    with a blend weight (seeded users only) and of the title model (named users only), completed from ``popular``
    (item indexes, most popular first); with no member and no title, the popular tracks alone (the baseline)."""
    users = np.asarray(users)
    seeded = np.flatnonzero(np.diff(history.user_items[users].indptr) > 0)
    depth = max(blend.depth, k)
    chosen: list[Recommender] = [model for model in members if getattr(blend, model.name)]
    ranked = {}
    for model in chosen:
        lists = np.full((len(users), depth), -1, dtype=np.int64)
        if len(seeded):
            lists[seeded] = model.recommend(users[seeded], history, depth)[0]
        ranked[model.name] = lists
    if titles is not None and blend.title:
        chosen.append(titles)
        ranked[titles.name] = titles.recommend(users, history, depth)[0]
    ids = np.full((len(users), k), -1, dtype=np.int64)  # nothing chosen: the popular tracks alone
    if chosen:
        ids, _ = Blend.of(chosen, blend).fuse_ranked(ranked, users, history, k)
    return complete(ids, popular, history.rows(users).seen)


def complete(ids: np.ndarray, popular: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """``ids`` (rows best first, -1 padded at the end) with the padding replaced by the most ``popular`` items the
    row neither lists nor holds; ValueError when the catalogue runs out."""
    out = ids.copy()
    k = ids.shape[1]
    for row in np.flatnonzero((ids < 0).any(axis=1)):
        listed = ids[row][ids[row] >= 0]
        held = seen.indices[seen.indptr[row] : seen.indptr[row + 1]]
        fill = popular[: k + len(held)]  # enough: at most len(held) + len(listed) of them are taken
        fill = fill[~np.isin(fill, np.concatenate([listed, held]))][: k - len(listed)]
        if len(listed) + len(fill) < k:
            raise ValueError(f"row {row}: only {len(listed) + len(fill)} items left to list, not {k}")
        out[row, len(listed) :] = fill
    return out
