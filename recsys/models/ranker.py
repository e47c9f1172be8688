"""The second stage: gradient-boosted trees re-ranking the first-stage models' candidates (LightGBM).

As the RecSys Challenge 2018's winners did it (Volkovs et al., layer6ai-labs/RecSys2018): every member of the
blend ranks its top ``ranker.candidates`` items for a user; their union is the candidate set, and the trees score
each (user, candidate) pair from what the members and the data say of it: each member's score and rank (missing
where it did not list the candidate), the blend's own fused score and how many members listed it, ALS's and
item2vec's scores computed for every candidate, item2vec's similarity to the latest item, co-occurrence with the
latest items, the item's popularity and the user's history length. The trees learn from held-out items the
members did not see (``train_ranker``'s labels) and are saved in LightGBM's own text format, never pickle.

Not yet part of the build or the service (issue 27 §3): bench/ranker.py trains and measures it on a validation
split carved from the evaluation's training part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.models.base import History, in_blocks, l2_normalize
from recsys.models.blend import Blend
from recsys.settings import RankerSettings

#: Users whose candidates are built and scored at once: their pairs x features bound the memory.
RANK_BLOCK = 2048


@dataclass(frozen=True)
class Candidates:
    """The (user row, item) pairs to score, sorted by row then item, with their features (NaN: not known)."""

    rows: np.ndarray  # index into the users they were built for
    items: np.ndarray
    features: np.ndarray  # pairs x features, float32

    def labels(self, users: np.ndarray, held_users: np.ndarray, held_items: np.ndarray, n_items: int) -> np.ndarray:
        """1 where the pair is one of its user's held-out items (``held_users[i]`` held ``held_items[i]``)."""
        row_of = dict(zip(users.tolist(), range(len(users)), strict=True))
        held = [row_of[u] * n_items + i for u, i in zip(held_users.tolist(), held_items.tolist(), strict=True)]
        return np.isin(self.rows * n_items + self.items, np.array(held, np.int64)).astype(np.float32)

    def groups(self, mask: np.ndarray) -> np.ndarray:
        """Pairs per user among the ``mask``ed pairs, in row order: LightGBM's query sizes."""
        counts = np.bincount(self.rows[mask])
        return counts[counts > 0]


class Features:
    """The candidate pairs of a batch of users and their features, from the blend's members (fitted on the same
    history the batch is read from)."""

    def __init__(self, blend: Blend, depth: int, holders: np.ndarray) -> None:
        self.blend, self.depth = blend, depth
        self.popularity = np.log1p(holders.astype(np.float32))
        members = {model.name: model for model in blend.models}
        self.als, self.item2vec, self.cooc = members.get("als"), members.get("item2vec"), members.get("cooccurrence")
        self.unit_items = None if self.item2vec is None else l2_normalize(self.item2vec.item_vectors_)  # type: ignore[attr-defined]

    @property
    def names(self) -> list[str]:
        names = [f"{model.name}_{what}" for model in self.blend.models for what in ("score", "rank")]
        names += ["fused", "listed_by", "popularity", "history_length", "cooc_last", "cooc_recent"]
        if self.als is not None:
            names.append("als_dot")
        if self.item2vec is not None:
            names += ["item2vec_next", "item2vec_last_cosine"]
        return names

    def build(self, users: np.ndarray, history: History) -> Candidates:
        users = np.asarray(users)
        n_items = history.n_items
        lists = [model.recommend(users, history, self.depth) for model in self.blend.models]
        listed_rows = [np.nonzero(ids >= 0) for ids, _ in lists]
        keys = [r.astype(np.int64) * n_items + ids[r, c] for (ids, _), (r, c) in zip(lists, listed_rows, strict=True)]
        pairs = np.unique(np.concatenate(keys)) if keys else np.empty(0, np.int64)
        rows, items = pairs // n_items, pairs % n_items
        columns: list[np.ndarray] = []
        fused, listed_by = np.zeros(len(pairs), np.float32), np.zeros(len(pairs), np.float32)
        for (_, scores), (r, c), key, weight in zip(lists, listed_rows, keys, self.blend.weights, strict=True):
            where = np.searchsorted(pairs, key)
            score, rank = np.full(len(pairs), np.nan, np.float32), np.full(len(pairs), np.nan, np.float32)
            score[where], rank[where] = scores[r, c], c
            fused[where] += weight / (self.blend.rank_offset + 1 + c)
            listed_by[where] += 1
            columns += [score, rank]
        block = history.rows(users)
        lengths = np.diff(block.user_items.indptr).astype(np.float32)
        columns += [fused, listed_by, self.popularity[items], lengths[rows], *self._cooccurrence(rows, items, block)]
        last = block.recent[:, -1][rows]
        if self.als is not None:
            als = self.als
            columns.append(np.einsum("pd,pd->p", als.user_factors_[users][rows], als.item_factors_[items]))  # type: ignore[attr-defined]
        if self.item2vec is not None:
            context = self.item2vec.context_vectors(block.recent)  # type: ignore[attr-defined]
            columns.append(np.einsum("pd,pd->p", context[rows], self.item2vec.output_vectors_[items]))  # type: ignore[attr-defined]
            cosine = np.full(len(pairs), np.nan, np.float32)
            has_last = last >= 0
            unit = self.unit_items
            cosine[has_last] = np.einsum("pd,pd->p", unit[last[has_last]], unit[items[has_last]])  # type: ignore[index]
            columns.append(cosine)
        return Candidates(rows, items, np.column_stack(columns).astype(np.float32))

    def _cooccurrence(self, rows: np.ndarray, items: np.ndarray, block: History) -> list[np.ndarray]:
        """How often each candidate stood beside the user's last item, and beside any of its latest items."""
        if self.cooc is None:
            return [np.full(len(rows), np.nan, np.float32) for _ in range(2)]
        matrix: sp.csr_matrix = self.cooc.matrix_  # type: ignore[attr-defined]
        recent = block.recent
        with_recent = np.zeros(len(rows), np.float32)
        with_last = np.zeros(len(rows), np.float32)
        for slot in range(recent.shape[1]):
            anchor = recent[rows, slot]
            known = anchor >= 0
            counts = np.asarray(matrix[anchor[known], items[known]], dtype=np.float32).ravel()
            with_recent[known] += counts
            if slot == recent.shape[1] - 1:
                with_last[known] = counts
        return [with_last, with_recent]


class Ranker:
    """A Recommender: the blend's members' candidates, re-ranked by the trees."""

    name = "ranker"

    def __init__(self, features: Features, booster: Any) -> None:
        self.features, self.booster = features, booster

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        users = np.asarray(users)

        def rank(block: slice) -> tuple[np.ndarray, np.ndarray]:
            chosen = users[block]
            candidates = self.features.build(chosen, history)
            scores = np.asarray(self.booster.predict(candidates.features), np.float32)
            return top_per_row(candidates.rows, candidates.items, scores, len(chosen), k)

        return in_blocks(len(users), RANK_BLOCK, rank, k)

    def save(self, path: Path) -> None:
        """LightGBM's own text format: readable, diffable, loaded without unpickling anything."""
        self.booster.save_model(str(path))

    @classmethod
    def load(cls, path: Path, features: Features) -> Ranker:
        import lightgbm

        return cls(features, lightgbm.Booster(model_file=str(path)))


def top_per_row(
    rows: np.ndarray, items: np.ndarray, scores: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` items of each row from (row, item, score) triples, best first, -1 / -inf padded."""
    ids = np.full((n_rows, k), -1, dtype=np.int64)
    best = np.full((n_rows, k), -np.inf, dtype=np.float32)
    order = np.lexsort((-scores, rows))
    rows, items, scores = rows[order], items[order], scores[order]
    position = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = position < k
    ids[rows[keep], position[keep]] = items[keep]
    best[rows[keep], position[keep]] = scores[keep]
    return ids, best


def train_ranker(
    blend: Blend,
    history: History,
    held_users: np.ndarray,
    held_items: np.ndarray,
    settings: RankerSettings,
    feature_names: Sequence[str] | None = None,
) -> tuple[Ranker, dict[str, Any]]:
    """Trees trained on the candidates of the users who held items out of ``history`` (the blend's members were
    fitted on it, so the labels are items they did not see). A seeded ``settings.validation_share`` of those users
    with a held-out item among their candidates decides when to stop adding trees; users without one teach
    nothing (binary labels, all negative) and are left out. Returns the ranker and what training measured."""
    import lightgbm

    features = Features(blend, settings.candidates, np.bincount(history.user_items.indices, minlength=history.n_items))
    users = np.unique(held_users)
    candidates = features.build(users, history)
    labels = candidates.labels(users, held_users, held_items, history.n_items)
    reached = np.bincount(candidates.rows, weights=labels, minlength=len(users)) > 0
    stopping = np.random.default_rng(settings.seed).random(len(users)) < settings.validation_share
    fit_rows, stop_rows = (reached & ~stopping)[candidates.rows], (reached & stopping)[candidates.rows]
    names = list(feature_names or features.names)
    params = {  # binary labels with NDCG@10 over each user's candidates to stop by: on yes_small's validation
        # users 0.291 recall@10 against lambdarank's 0.275 (bench/ranker.py, docs/models.md)
        "objective": "binary",
        "metric": "ndcg",
        "eval_at": [10],
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.leaves,
        "min_data_in_leaf": settings.min_data_in_leaf,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": settings.seed,
        "deterministic": True,
        "num_threads": settings.threads,
        "verbose": -1,
    }
    train = lightgbm.Dataset(
        candidates.features[fit_rows], labels[fit_rows], group=candidates.groups(fit_rows), feature_name=names
    )
    valid = lightgbm.Dataset(
        candidates.features[stop_rows], labels[stop_rows], group=candidates.groups(stop_rows), reference=train
    )
    booster = lightgbm.train(
        params,
        train,
        num_boost_round=settings.max_trees,
        valid_sets=[valid],
        callbacks=[lightgbm.early_stopping(settings.patience, verbose=False)],
    )
    summary = {
        "users": len(users),
        "candidate_recall": float(reached.mean()) if len(users) else 0.0,
        "pairs": len(labels),
        "trees": booster.best_iteration,
    }
    return Ranker(features, booster), summary
