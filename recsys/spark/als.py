"""Spark MLlib ALS (implicit preferences) for ratings that outgrow one node.

Same confidence model as the single-node solvers: MLlib computes 1 + alpha * rating, and the rating it gets is
t(count) from ``als.confidence``, computed here in Spark. MLlib scales the regularisation by each user's and
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


def preference(ratings: DataFrame, settings: ALSSettings) -> DataFrame:
    """(user_idx, item_idx, t(count)) as float, as recsys.models.confidence.preference_weights computes it."""
    count = F.col(S.COUNT).cast("double")
    if settings.confidence == "log":
        weight = F.log1p(count / settings.log_epsilon)
    elif settings.confidence == "bm25":
        k1, b = settings.bm25_k1, settings.bm25_b
        n_users = ratings.select(S.USER_IDX).distinct().count()
        holders = ratings.groupBy(S.ITEM_IDX).agg(F.count(F.lit(1)).alias("_df"))
        lengths = ratings.groupBy(S.USER_IDX).agg(F.sum(S.COUNT).cast("double").alias("_len"))
        mean_length = lengths.agg(F.avg("_len")).first()[0]
        ratings = ratings.join(holders, S.ITEM_IDX).join(lengths, S.USER_IDX)
        idf = F.log(F.lit(float(max(n_users, 1)))) - F.log1p(F.col("_df").cast("double"))
        norm = (1.0 - b) + b * F.col("_len") / F.lit(max(mean_length, 1e-12))
        weight = F.greatest(count * (k1 + 1.0) / (k1 * norm + count) * idf, F.lit(0.0))
    else:
        weight = count
    return ratings.select(S.USER_IDX, S.ITEM_IDX, weight.cast("float").alias(S.COUNT))


def fit_spark_als(
    ratings: DataFrame, n_users: int, n_items: int, settings: ALSSettings, checkpoints: str
) -> tuple[np.ndarray, np.ndarray]:
    """Train on the cluster; only the factors (users + items) x rank come back to the driver.

    ``checkpoints``: a folder every executor reaches, removed afterwards, where MLlib cuts its factors' lineage
    every 10 iterations. MLlib ignores its checkpoint interval while the context has no checkpoint folder, and the
    lineage of 15 iterations then overflowed the driver's stack while serialising a task, now and then, on
    local-cluster (the depth a stack holds depends on which frames the JIT has compiled yet).
    """
    log.info("ALS on Spark MLlib: %d users x %d items, %d factors", n_users, n_items, settings.factors)
    spark = ratings.sparkSession
    spark.sparkContext.setCheckpointDir(checkpoints)
    try:
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
            checkpointInterval=10,
        ).fit(preference(ratings, settings))
        users = _dense(model.userFactors, n_users, settings.factors)
        return users, _dense(model.itemFactors, n_items, settings.factors)
    finally:
        jvm, conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
        folder = jvm.org.apache.hadoop.fs.Path(checkpoints)
        folder.getFileSystem(conf).delete(folder, True)
