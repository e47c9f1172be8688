"""The first evaluation protocol: last item of a seeded share of playlists held out, models ranked side by side."""

from __future__ import annotations

import logging

import numpy as np

from recsys.evaluation.metrics import ndcg_at_k, recall_at_k
from recsys.models.base import History, Recommender

log = logging.getLogger(__name__)


def evaluate(
    models: list[Recommender], train: History, users: np.ndarray, items: np.ndarray, k: int
) -> dict[str, dict[str, float]]:
    """recall@k and NDCG@k of each model for one held-out item per user (``users[i]`` held ``items[i]``)."""
    relevant = [np.array([item]) for item in items]
    results = {}
    for model in models:
        recommended, _ = model.recommend(users, train, k)
        results[model.name] = {
            f"recall@{k}": recall_at_k(recommended, relevant, k),
            f"ndcg@{k}": ndcg_at_k(recommended, relevant, k),
        }
        log.info("evaluation: %-13s %s", model.name, results[model.name])
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table, models as rows, metrics as columns."""
    metrics = list(next(iter(results.values())))
    lines = [f"{'model':<14}" + "".join(f"{m:>12}" for m in metrics)]
    lines += [f"{name:<14}" + "".join(f"{row[m]:>12.4f}" for m in metrics) for name, row in results.items()]
    return "\n".join(lines)
