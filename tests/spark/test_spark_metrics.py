"""The Spark twin of the ranking metrics gives the numpy functions' numbers on the same rankings."""

import numpy as np
import pytest

from recsys import metrics as M
from recsys import schemas as S
from recsys.spark.metrics import RANK, ranking_metrics

pytestmark = pytest.mark.spark


def test_spark_twin_matches_the_numpy_metrics(spark):
    rng = np.random.default_rng(7)
    n_users, n_items, k = 150, 50, 10
    recommended = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    recommended[:5, 6:] = -1  # short lists, padded
    relevant = [rng.choice(n_items, size=rng.integers(1, 15), replace=False) for _ in range(n_users)]
    ranked_rows = [(u, r + 1, int(i)) for u, row in enumerate(recommended) for r, i in enumerate(row) if i >= 0]
    ranked_rows = [row for row in ranked_rows if row[0] != 0]  # user 0 gets no recommendation at all
    recommended[0] = -1
    ranked = spark.createDataFrame(ranked_rows, f"{S.USER_IDX} int, {RANK} int, {S.ITEM_IDX} int")
    held = spark.createDataFrame(
        [(u, int(i)) for u, rel in enumerate(relevant) for i in rel], f"{S.USER_IDX} int, {S.ITEM_IDX} int"
    )
    got = ranking_metrics(ranked, held, k)
    assert got == pytest.approx(M.ranking_metrics(recommended, relevant, k))
    assert 0 < got[f"recall@{k}"] < got[f"recall_normalized@{k}"]  # some users hold more than k items
