"""Ranking metrics as pure functions of (recommended ids per user, relevant ids per user).

``recommended`` is an (n_users, depth) int array, best first, -1 for padding; ``relevant`` is a list of int
arrays, one per user, each non-empty. Every function returns the mean over users. Two recalls are in use in the
literature and both are here, named apart: ``recall_at_k`` divides the hits by |relevant| (what most papers on
next-item prediction report), ``normalized_recall_at_k`` by min(k, |relevant|) (VAE-CF, EASE), so that a perfect
ranking scores 1 whatever |relevant| is. recsys.spark.metrics computes the same figures from Spark
DataFrames, for test sets that do not fit on one node.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The RecSys Challenge 2018's "clicks": Spotify's Recommended Songs shows this many tracks per refresh.
PAGE = 10


def hits_matrix(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int | None = None) -> np.ndarray:
    """Boolean (n_users, k): is the item at each rank relevant (padding never is)."""
    top = recommended if k is None else recommended[:, :k]
    rows = [np.isin(row, rel) & (row >= 0) for row, rel in zip(top, relevant, strict=True)]
    return np.array(rows, dtype=bool).reshape(len(relevant), top.shape[1])


def _sizes(relevant: Sequence[np.ndarray]) -> np.ndarray:
    return np.array([len(np.unique(rel)) for rel in relevant], dtype=np.float64)


def _mean(per_user: np.ndarray) -> float:
    return float(np.mean(per_user)) if len(per_user) else 0.0


def recall_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Mean of hits / |relevant| (with one held-out item per user: the hit rate)."""
    return ranking_metrics(recommended, relevant, k)[f"recall@{k}"]


def normalized_recall_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Mean of hits / min(k, |relevant|): 1 for a perfect ranking however many items were held out."""
    return ranking_metrics(recommended, relevant, k)[f"recall_normalized@{k}"]


def precision_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Mean of hits / k."""
    return ranking_metrics(recommended, relevant, k)[f"precision@{k}"]


def hit_rate_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Share of users with at least one hit in the top k."""
    return ranking_metrics(recommended, relevant, k)[f"hit_rate@{k}"]


def ndcg_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Binary-relevance NDCG: DCG of the hits over the DCG of min(k, |relevant|) hits at the top."""
    return ranking_metrics(recommended, relevant, k)[f"ndcg@{k}"]


def map_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Mean average precision: the precision at each hit's rank, summed, over min(k, |relevant|)."""
    return ranking_metrics(recommended, relevant, k)[f"map@{k}"]


def mrr_at_k(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> float:
    """Mean reciprocal rank of the first hit in the top k (0 without one)."""
    return ranking_metrics(recommended, relevant, k)[f"mrr@{k}"]


def ranking_metrics(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> dict[str, float]:
    """recall (both kinds), precision, NDCG, MAP, MRR and hit rate at ``k``, named as reports show them: the set
    recsys.spark.metrics.ranking_metrics computes from DataFrames. The hit matrix, a loop over users, is built once."""
    hits = hits_matrix(recommended, relevant, k)
    n_hits, any_hit = hits.sum(axis=1), hits.any(axis=1)
    sizes = _sizes(relevant)
    cut = np.minimum(k, sizes)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[cut.astype(np.int64) - 1]
    precision_at_rank = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    first = np.argmax(hits, axis=1)
    return {
        f"recall@{k}": _mean(n_hits / sizes),
        f"recall_normalized@{k}": _mean(n_hits / cut),
        f"precision@{k}": _mean(n_hits / k),
        f"ndcg@{k}": _mean((hits * discounts[: hits.shape[1]]).sum(axis=1) / ideal),
        f"map@{k}": _mean((precision_at_rank * hits).sum(axis=1) / cut),
        f"mrr@{k}": _mean(np.where(any_hit, 1.0 / (first + 1), 0.0)),
        f"hit_rate@{k}": _mean(any_hit.astype(np.float64)),
    }


def recall_curve(recommended: np.ndarray, relevant: Sequence[np.ndarray]) -> np.ndarray:
    """recall@k (hits / |relevant|) for every k = 1..depth at once: the report's recall@k plot."""
    hits = hits_matrix(recommended, relevant)
    if not len(relevant):
        return np.zeros(hits.shape[1])
    return (np.cumsum(hits, axis=1) / _sizes(relevant)[:, None]).mean(axis=0)


def r_precision(recommended: np.ndarray, relevant: Sequence[np.ndarray]) -> float:
    """Hits in the first |relevant| recommendations over |relevant| (precision at R, recall at R)."""
    hits = hits_matrix(recommended, relevant)
    sizes = _sizes(relevant)
    within = np.arange(hits.shape[1])[None, :] < sizes[:, None]
    return _mean((hits & within).sum(axis=1) / sizes)


def r_precision_with_artists(
    recommended: np.ndarray, relevant: Sequence[np.ndarray], artist_of: np.ndarray, credit: float = 0.25
) -> float:
    """The RecSys Challenge 2018's R-precision: among the first |relevant| recommendations, each relevant track
    counts 1 and each other track by an artist of the relevant tracks ``credit``, once per artist; over |relevant|.

    ``artist_of[item]`` is the item's artist index (-1: unknown, never credited).
    """
    scores = []
    for row, rel in zip(recommended, relevant, strict=True):
        rel = np.unique(rel)
        wanted = set(artist_of[rel].tolist()) - {-1}
        top = row[: len(rel)]
        top = top[top >= 0]
        matched = np.isin(top, rel)
        credited = {int(artist_of[item]) for item in top[~matched]} & wanted
        scores.append((matched.sum() + credit * len(credited)) / len(rel))
    return _mean(np.array(scores))


def clicks(recommended: np.ndarray, relevant: Sequence[np.ndarray]) -> float:
    """The RecSys Challenge 2018's Recommended Songs clicks: refreshes of PAGE tracks before the first relevant
    one, (rank - 1) // PAGE; with none in the list, one more than the list allows (51 for 500 tracks)."""
    hits = hits_matrix(recommended, relevant)
    first = np.argmax(hits, axis=1)
    missing = recommended.shape[1] // PAGE + 1
    return _mean(np.where(hits.any(axis=1), first // PAGE, missing).astype(np.float64))


def coverage_at_k(recommended: np.ndarray, k: int, n_items: int) -> float:
    """Share of the catalogue that appears in at least one user's top k (not a mean over users)."""
    top = recommended[:, :k]
    return len(np.unique(top[top >= 0])) / n_items if n_items else 0.0


def popularity_at_k(recommended: np.ndarray, k: int, popularity: np.ndarray) -> float:
    """Popularity bias: the mean, over users, of the mean popularity of their top k; ``popularity[item]`` is the
    share of training users holding the item (so 1.0 would be recommending only what everyone holds)."""
    top = recommended[:, :k]
    valid = top >= 0
    per_user = np.where(valid, popularity[np.where(valid, top, 0)], 0.0).sum(axis=1) / np.maximum(valid.sum(1), 1)
    return _mean(per_user)
