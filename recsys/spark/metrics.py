"""The ranking metrics of recsys.metrics computed by Spark, for test sets too large for one node.

Inputs are DataFrames instead of arrays: ``recommended`` (user_idx, rank, item_idx) with rank counted from 1,
``relevant`` (user_idx, item_idx). The means run over the users in ``relevant``; a user with no recommendation
scores 0, as a row of padding does in the numpy functions. A test checks both give the same numbers.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import schemas as S

RANK = "rank"


def ranking_metrics(recommended: DataFrame, relevant: DataFrame, k: int) -> dict[str, float]:
    """recall (both kinds), precision, NDCG, MAP, MRR and hit rate at ``k``, averaged over relevant's users."""
    relevant = relevant.select(S.USER_IDX, S.ITEM_IDX).distinct()
    sizes = relevant.groupBy(S.USER_IDX).agg(F.count(F.lit(1)).alias("_size"))
    hits = (
        recommended.where(F.col(RANK) <= k)
        .join(relevant, [S.USER_IDX, S.ITEM_IDX])
        .withColumn("_hits_so_far", F.row_number().over(Window.partitionBy(S.USER_IDX).orderBy(RANK)))
        .groupBy(S.USER_IDX)
        .agg(
            F.count(F.lit(1)).alias("_hits"),
            F.sum(1.0 / F.log2(F.col(RANK) + 1)).alias("_dcg"),
            F.sum(F.col("_hits_so_far") / F.col(RANK)).alias("_precision_sum"),
            F.min(RANK).alias("_first"),
        )
    )
    cut = F.least(F.lit(k), F.col("_size"))
    ideal = F.aggregate(F.sequence(F.lit(1), cut), F.lit(0.0), lambda total, i: total + 1.0 / F.log2(i + 1))
    per_user = sizes.join(hits, S.USER_IDX, "left").fillna(0)
    means = per_user.agg(
        F.avg(F.col("_hits") / F.col("_size")).alias("recall"),
        F.avg(F.col("_hits") / cut).alias("recall_normalized"),
        F.avg(F.col("_hits") / k).alias("precision"),
        F.avg(F.col("_dcg") / ideal).alias("ndcg"),
        F.avg(F.col("_precision_sum") / cut).alias("map"),
        F.avg(F.when(F.col("_first") > 0, 1.0 / F.col("_first")).otherwise(0.0)).alias("mrr"),
        F.avg((F.col("_hits") > 0).cast("double")).alias("hit_rate"),
    ).first()
    return {f"{name}@{k}": float(means[name] or 0.0) for name in means.asDict()}
