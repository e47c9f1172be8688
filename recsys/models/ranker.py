"""The second stage: gradient-boosted trees re-ranking the first-stage models' candidates (LightGBM).

As the RecSys Challenge 2018's winners did it (Volkovs et al., layer6ai-labs/RecSys2018): every member of the
blend ranks its top ``ranker.candidates`` items for a user; their union is the candidate set, and the trees score
each (user, candidate) pair from what the members and the data say of it: each member's score and rank (missing
where it did not list the candidate), the blend's own fused score and how many members listed it, ALS's and
item2vec's scores computed for every candidate, item2vec's similarity to the latest item and to the user's
taste (its items' mean vector), co-occurrence with the latest items, how often the candidate directly followed
the last and the previous item in a playlist (the order a co-occurrence window forgets), the item's popularity
and the user's history length. The trees learn from held-out items the
members did not see (``train_ranker``'s labels) and are saved in LightGBM's own text format, never pickle.

The build trains it where ``ranker.enabled`` (recsys/registry.py ``train_trees``, on a split carved from
the evaluation's training part by recsys/spark/protocol.py) and the service serves it as model=ranker;
bench/ranker.py measures it against the blend over several seeds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.layout import RANKER_MODEL, writable
from recsys.matrices import transitions
from recsys.metrics import ndcg_at_k
from recsys.models.base import History, Inputs, Recommender, binary_mean_rows, in_blocks
from recsys.models.blend import Blend
from recsys.models.searched import Searched
from recsys.settings import RankerSettings
from recsys.vectors import l2_normalize

#: Each user's ALS factors, from the users' ids and their rows of the history (as recsys.models.searched.Searched asks).
UserQuery = Callable[[np.ndarray, History], np.ndarray]
#: Users whose candidates are built and scored at once: their pairs x features bound the memory.
RANK_BLOCK = 2048


class TooFewLabels(ValueError):
    """Too few labelled users whose candidates hold their held-out item to both grow and stop the trees (a small
    log): the build goes on without a ranker, saying so."""


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

    def __init__(
        self,
        blend: Blend,
        depth: int,
        fitted: Mapping[str, Recommender],
        holders: np.ndarray,
        transitions: sp.csr_matrix,
    ) -> None:
        self.blend, self.depth = blend, depth
        self.popularity = np.log1p(holders.astype(np.float32))
        self.transitions = transitions
        self.successors = np.asarray(transitions.sum(axis=1), dtype=np.float32).ravel()  # how often each had a next
        trained = {name: model.trained if isinstance(model, Searched) else model for name, model in fitted.items()}
        als, self.item2vec, self.cooc = (trained.get(name) for name in ("als", "item2vec", "cooccurrence"))
        self.item_factors = None if als is None else als.item_factors_  # type: ignore[attr-defined]
        self.user_factors: UserQuery | None = None if als is None else lambda users, _: als.user_factors_[users]  # type: ignore[attr-defined]
        self.unit_items = None if self.item2vec is None else self.item2vec.unit_vectors  # type: ignore[attr-defined]

    @classmethod
    def of(cls, inputs: Inputs, depth: int) -> Features:
        """The features of the candidates of the blend in ``inputs.models``, read from the models before it there
        (by family name, as trained or as served: ALS's factors, item2vec's vectors, the co-occurrence counts),
        the history they were fitted on and its sequences' next-song counts (recsys.matrices.transitions)."""
        history = inputs.history
        holders = np.bincount(history.user_items.indices, minlength=history.n_items)
        followed = transitions(inputs.read_sequences(), history.n_items)
        return cls(inputs.models[Blend.name], depth, inputs.models, holders, followed)

    def for_new_users(self, blend: Blend, user_factors: UserQuery) -> Features:
        """The same features for rows of a history the models were not fitted on (a service's new users): the
        candidates from ``blend``, whose members read such rows (ALS folded in), ALS's factors from
        ``user_factors``. The members must be the same, in the same order: the trees know them by position."""
        if [m.name for m in blend.models] != [m.name for m in self.blend.models]:
            raise ValueError(f"{[m.name for m in blend.models]}: the trees were trained on {self.names}")
        other = copy.copy(self)
        other.blend, other.user_factors = blend, user_factors
        return other

    @property
    def names(self) -> list[str]:
        names = [f"{model.name}_{what}" for model in self.blend.models for what in ("score", "rank")]
        names += ["fused", "listed_by", "popularity", "history_length", "cooc_last", "cooc_recent"]
        names += ["next_after_last", "next_after_last_share", "next_after_previous"]
        if self.user_factors is not None:
            names.append("als_dot")
        if self.item2vec is not None:
            names += ["item2vec_next", "item2vec_last_cosine", "item2vec_user_cosine"]
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
        columns += self._next_after(last, items)
        columns.append(self._next_after(block.recent[:, -2][rows], items)[0] if block.recent.shape[1] > 1 else
                       np.full(len(pairs), np.nan, np.float32))  # fmt: skip
        if self.user_factors is not None:
            factors = self.user_factors(users, block)[rows]
            columns.append(np.einsum("pd,pd->p", factors, self.item_factors[items]))  # type: ignore[index]
        if self.item2vec is not None:
            context = self.item2vec.context_vectors(block.recent)  # type: ignore[attr-defined]
            columns.append(np.einsum("pd,pd->p", context[rows], self.item2vec.output_vectors_[items]))  # type: ignore[attr-defined]
            cosine = np.full(len(pairs), np.nan, np.float32)
            has_last = last >= 0
            unit = self.unit_items
            cosine[has_last] = np.einsum("pd,pd->p", unit[last[has_last]], unit[items[has_last]])  # type: ignore[index]
            taste = l2_normalize(np.asarray(binary_mean_rows(block.user_items) @ unit, dtype=np.float32))
            columns += [cosine, np.einsum("pd,pd->p", taste[rows], unit[items])]  # type: ignore[index]
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
            counts = _cells(matrix, anchor[known], items[known])
            with_recent[known] += counts
            if slot == recent.shape[1] - 1:
                with_last[known] = counts
        return [with_last, with_recent]

    def _next_after(self, last: np.ndarray, items: np.ndarray) -> list[np.ndarray]:
        """How often each candidate directly followed ``last`` (each pair's user's item) in a playlist, and that
        count's share of everything that followed it (NaN where the user has no such item): the order a
        co-occurrence window forgets, which moved the ranker from level with the blend to ahead of it on
        yes_small (docs/models.md)."""
        count, share = np.full(len(last), np.nan, np.float32), np.full(len(last), np.nan, np.float32)
        known = last >= 0
        count[known] = _cells(self.transitions, last[known], items[known])
        share[known] = count[known] / np.maximum(self.successors[last[known]], 1.0)
        return [count, share]


class Ranker:
    """A Recommender: the blend's members' candidates, re-ranked by the trees."""

    name = "ranker"

    def __init__(self, features: Features, booster: Any) -> None:
        self.features, self.booster = features, booster
        self._fused = features.names.index("fused")  # the tie-break column

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        users = np.asarray(users)

        def rank(block: slice) -> tuple[np.ndarray, np.ndarray]:
            chosen = users[block]
            candidates = self.features.build(chosen, history)
            scores = np.asarray(self.booster.predict(candidates.features), np.float32)
            fused = candidates.features[:, self._fused]
            return top_per_row(candidates.rows, candidates.items, scores, len(chosen), k, fused)

        return in_blocks(len(users), RANK_BLOCK, rank, k)

    @classmethod
    def train(cls, inputs: Inputs, settings: RankerSettings) -> Ranker | None:
        """The trees a split of the log taught (``inputs.trees``: recsys.registry.train_trees) over the candidates
        of the models before it; None where no trees were trained."""
        if inputs.trees is None:
            return None
        return cls(Features.of(inputs, settings.candidates), inputs.trees)

    def save(self, folder: Path) -> None:
        """LightGBM's own text format: readable, diffable, loaded without unpickling anything."""
        self.booster.save_model(str(writable(folder, RANKER_MODEL)))

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: RankerSettings) -> Ranker | None:
        """The bundle's trees over the candidates of the loaded models, or None where it was built without them.
        A bundle whose trees know other features than these models give (other members) is refused, naming
        both."""
        import lightgbm

        path = folder / RANKER_MODEL
        if not path.is_file():
            return None
        booster = lightgbm.Booster(model_file=str(path))
        features = Features.of(inputs, settings.candidates)
        if booster.feature_name() != features.names:
            raise ValueError(f"{path}: its trees know {booster.feature_name()}, the bundle's models {features.names}")
        return cls(features, booster)


def _cells(matrix: sp.csr_matrix, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """matrix[rows[i], columns[i]] for every i, as float32 (scipy answers an empty selection with a sparse matrix)."""
    if not len(rows):
        return np.empty(0, np.float32)
    return np.asarray(matrix[rows, columns], dtype=np.float32).ravel()


def top_per_row(
    rows: np.ndarray, items: np.ndarray, scores: np.ndarray, n_rows: int, k: int, then: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` items of each row from (row, item, score) triples, best first, -1 / -inf padded; equal
    scores ordered by ``then`` (larger first: the blend's fused score, for the trees, which score many candidates
    alike), else by item."""
    ids = np.full((n_rows, k), -1, dtype=np.int64)
    best = np.full((n_rows, k), -np.inf, dtype=np.float32)
    keys = (-scores, rows) if then is None else (-then, -scores, rows)
    order = np.lexsort(keys)
    rows, items, scores = rows[order], items[order], scores[order]
    position = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = position < k
    ids[rows[keep], position[keep]] = items[keep]
    best[rows[keep], position[keep]] = scores[keep]
    return ids, best


def train_ranker(
    features: Features,
    history: History,
    held_users: np.ndarray,
    held_items: np.ndarray,
    settings: RankerSettings,
    feature_names: Sequence[str] | None = None,
) -> tuple[Ranker, dict[str, Any]]:
    """Trees trained on the candidates ``features`` lists for the users who held items out of ``history`` (the
    blend's members were fitted on it, so the labels are items they did not see). A seeded
    ``settings.validation_share`` of those users with a held-out item among their candidates decides when to stop
    adding trees; users without one teach nothing (binary labels, all negative) and are left out. Returns the
    ranker and what training measured; raises TooFewLabels where either part would hold no such user."""
    import lightgbm

    users = np.unique(held_users)
    candidates = features.build(users, history)
    labels = candidates.labels(users, held_users, held_items, history.n_items)
    reached = np.bincount(candidates.rows, weights=labels, minlength=len(users)) > 0
    stopping = np.random.default_rng(settings.seed).random(len(users)) < settings.validation_share
    if not (reached & ~stopping).any() or not (reached & stopping).any():
        raise TooFewLabels(
            f"{int(reached.sum())} of {len(users)} labelled users have their held-out item among the candidates: "
            "too few to grow and stop the trees (ranker.users, ranker.validation_share)"
        )
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
    ranker = Ranker(features, booster)
    fused = candidates.features[:, features.names.index("fused")]
    scored = np.zeros(len(labels), np.float32)  # the trees' scores, of the stopping users' pairs only
    scored[stop_rows] = booster.predict(candidates.features[stop_rows])
    summary = {
        "users": len(users),
        "candidate_recall": float(reached.mean()) if len(users) else 0.0,
        "pairs": len(labels),
        "trees": booster.best_iteration,
        # on the stopping users: the trees' order against the blend's (its fused score) over the same candidates
        "stopping_ndcg@10": {
            "trees": _ndcg(candidates, stop_rows, labels, scored, fused),
            "blend": _ndcg(candidates, stop_rows, labels, fused, fused),
        },
    }
    return ranker, summary


def _ndcg(candidates: Candidates, mask: np.ndarray, labels: np.ndarray, scores: np.ndarray, then: np.ndarray) -> float:
    """NDCG@10 of the ``mask``ed pairs' users when ranked by ``scores`` (ties by ``then``), their labelled pairs
    relevant: the yardstick the trees stop by, put to the blend's order too."""
    rows, items = candidates.rows[mask], candidates.items[mask]
    ids, _ = top_per_row(rows, items, scores[mask].astype(np.float32), int(rows.max()) + 1, 10, then[mask])
    users = np.unique(rows)
    positive = labels[mask] > 0
    relevant = np.split(items[positive], np.searchsorted(rows[positive], users[1:]))
    return round(ndcg_at_k(ids[users], relevant, 10), 4)
