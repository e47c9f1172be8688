"""Models ranked side by side on held-out (user, item) pairs, with the metrics of recsys.metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from recsys import metrics as M
from recsys.models.base import History, Recommender
from recsys.models.blend import Blend
from recsys.stages import stage

log = logging.getLogger(__name__)


def group_by_user(users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Held-out pairs as (distinct users, the items each one is to be recommended), users ascending."""
    if not len(users):
        return users, []
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    distinct, starts = np.unique(users, return_index=True)
    return distinct, np.split(items, starts[1:])


def sample_users(users: np.ndarray, items: np.ndarray, limit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out pairs of at most ``limit`` distinct users (a seeded sample; all when ``limit`` is 0): the
    evaluation's cost is users x catalogue per model, and its error bar shrinks only as the root of the users."""
    distinct = np.unique(users)
    if not limit or len(distinct) <= limit:
        return users, items
    kept = np.random.default_rng(seed).choice(distinct, limit, replace=False)
    mask = np.isin(users, kept)
    return users[mask], items[mask]


#: How deep every model ranks for evaluation: the recall@k curve runs to it and "clicks" pages through it.
DEPTH = 100


@dataclass(frozen=True)
class Evaluation:
    """Each model's metrics at the report's k, and its recall@k for k = 1..depth."""

    metrics: dict[str, dict[str, float]]
    recall_curve: dict[str, list[float]]


def evaluate(
    models: list[Recommender],
    train: History,
    users: np.ndarray,
    items: np.ndarray,
    k: int,
    depth: int = DEPTH,
    artist_of: np.ndarray | None = None,
) -> Evaluation:
    """Every model's ranking metrics at ``k`` over the held-out pairs (``users[i]`` held ``items[i]``; a user may
    hold several), the RecSys Challenge 2018's R-precision (also with its artist credit where ``artist_of`` names
    each item's artist) and clicks over its ``depth`` best, catalogue coverage, the popularity of what it
    recommends, and its recall curve."""
    test_users, relevant = group_by_user(np.asarray(users), np.asarray(items))
    holders = np.bincount(train.user_items.indices, minlength=train.n_items)
    popularity = holders / max(train.user_items.shape[0], 1)
    metrics, curves = {}, {}
    ranked: dict[str, tuple[Recommender, np.ndarray]] = {}  # what each model ranked, kept for blends of them
    for model in models:
        with stage(model.name):
            if (
                isinstance(model, Blend)
                and model.depth <= max(k, depth)
                and all(m.name in ranked and ranked[m.name][0] is m for m in model.models)
            ):  # its members were ranked above, for the same users and at least as deep: fuse their lists
                lists = {name: ids for name, (_, ids) in ranked.items()}
                recommended, _ = model.fuse_ranked(lists, test_users, train, max(k, depth))
            else:
                recommended, _ = model.recommend(test_users, train, max(k, depth))
        ranked[model.name] = (model, recommended)
        metrics[model.name] = scored(recommended, relevant, k, popularity, artist_of)
        curves[model.name] = M.recall_curve(recommended, relevant).tolist()
        log.info("evaluation: %-13s %s", model.name, metrics[model.name])
    return Evaluation(metrics, curves)


def scored(
    recommended: np.ndarray,
    relevant: list[np.ndarray],
    k: int,
    popularity: np.ndarray,
    artist_of: np.ndarray | None = None,
) -> dict[str, float]:
    """One model's metrics over its ranked lists (users x depth): ranking metrics at ``k``, the challenge's
    R-precision (with the artist credit where ``artist_of`` is known) and clicks over the whole depth, coverage
    and the popularity (share of training users holding, per item) of the top ``k``."""
    scores = {**M.ranking_metrics(recommended, relevant, k), "r_precision": M.r_precision(recommended, relevant)}
    if artist_of is not None:
        scores["r_precision_artists"] = M.r_precision_with_artists(recommended, relevant, artist_of)
    return scores | {
        "clicks": M.clicks(recommended, relevant),
        f"coverage@{k}": M.coverage_at_k(recommended, k, len(popularity)),
        f"popularity@{k}": M.popularity_at_k(recommended, k, popularity),
    }


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table, models as rows, metrics as columns."""
    metrics = list(next(iter(results.values())))
    width = max(12, *(len(m) + 2 for m in metrics))
    lines = [f"{'model':<20}" + "".join(f"{m:>{width}}" for m in metrics)]
    lines += [f"{name:<20}" + "".join(f"{row[m]:>{width}.4f}" for m in metrics) for name, row in results.items()]
    return "\n".join(lines)
