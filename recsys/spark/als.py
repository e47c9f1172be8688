"""Spark MLlib ALS (implicit preferences) for ratings that outgrow one node.

Same confidence model as implicit (1 + alpha * count), but MLlib scales the regularisation by each user's and
item's number of ratings (ALS-WR), so the same ``als.regularization`` is not the same penalty in both backends.
"""

from __future__ import annotations

import logging

import numpy as np
from pyspark.ml.recommendation import ALS as MLlibALS
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import schemas as S
from recsys.settings import ALSSettings

log = logging.getLogger(__name__)


def _dense(factors: DataFrame, n: int, rank: int) -> np.ndarray:
    """MLlib's (id, features) rows as an n x rank array; ids absent from training keep zeros."""
    table = factors.toArrow()
    out = np.zeros((n, rank), dtype=np.float32)
    ids = table.column("id").to_numpy()
    out[ids] = np.asarray(table.column("features").to_pylist(), dtype=np.float32).reshape(len(ids), rank)
    return out


def fit_spark_als(
    ratings: DataFrame, n_users: int, n_items: int, settings: ALSSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Train on the cluster; only the factors (users + items) x rank come back to the driver."""
    log.info("ALS on Spark MLlib: %d users x %d items, %d factors", n_users, n_items, settings.factors)
    model = MLlibALS(
        rank=settings.factors,
        maxIter=settings.iterations,
        regParam=settings.regularization,
        alpha=settings.alpha,
        implicitPrefs=True,
        seed=settings.seed,
        userCol=S.USER_IDX,
        itemCol=S.ITEM_IDX,
        ratingCol=S.COUNT,
    ).fit(ratings.withColumn(S.COUNT, F.col(S.COUNT).cast("float")))
    return _dense(model.userFactors, n_users, settings.factors), _dense(model.itemFactors, n_items, settings.factors)
