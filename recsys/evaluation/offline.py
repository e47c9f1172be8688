"""Models ranked side by side on held-out (user, item) pairs, with the metrics of recsys.evaluation.metrics."""

from __future__ import annotations

import logging

import numpy as np

from recsys.evaluation import metrics as M
from recsys.models.base import History, Recommender

log = logging.getLogger(__name__)


def group_by_user(users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Held-out pairs as (distinct users, the items each one is to be recommended), users ascending."""
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    distinct, starts = np.unique(users, return_index=True)
    return distinct, np.split(items, starts[1:])


def evaluate(
    models: list[Recommender], train: History, users: np.ndarray, items: np.ndarray, k: int
) -> dict[str, dict[str, float]]:
    """Every model's ranking metrics at ``k`` over the held-out pairs (``users[i]`` held ``items[i]``; a user may
    hold several), plus catalogue coverage and the popularity of what it recommends."""
    test_users, relevant = group_by_user(np.asarray(users), np.asarray(items))
    holders = np.bincount(train.user_items.indices, minlength=train.n_items)
    popularity = holders / max(train.user_items.shape[0], 1)
    results = {}
    for model in models:
        recommended, _ = model.recommend(test_users, train, k)
        results[model.name] = {
            **M.ranking_metrics(recommended, relevant, k),
            f"coverage@{k}": M.coverage_at_k(recommended, k, train.n_items),
            f"popularity@{k}": M.popularity_at_k(recommended, k, popularity),
        }
        log.info("evaluation: %-13s %s", model.name, results[model.name])
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table, models as rows, metrics as columns."""
    metrics = list(next(iter(results.values())))
    width = max(12, *(len(m) + 2 for m in metrics))
    lines = [f"{'model':<14}" + "".join(f"{m:>{width}}" for m in metrics)]
    lines += [f"{name:<14}" + "".join(f"{row[m]:>{width}.4f}" for m in metrics) for name, row in results.items()]
    return "\n".join(lines)
