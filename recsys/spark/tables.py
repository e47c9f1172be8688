"""The tables every model reads: ratings, sequences and windowed item co-occurrence.

Pure DataFrame -> DataFrame transforms over indexed interactions (user_idx, item_idx, count, position, row).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import schemas as S


def ratings(interactions: DataFrame) -> DataFrame:
    """(user_idx, item_idx, count): how often a user or playlist holds an item (the co-occurrence "rating")."""
    return interactions.groupBy(S.USER_IDX, S.ITEM_IDX).agg(F.sum(S.COUNT).alias(S.COUNT))


def sequences(interactions: DataFrame) -> DataFrame:
    """(user_idx, items): each user's items in playlist order (position, then input order)."""
    ordered = F.sort_array(F.collect_list(F.struct(S.POSITION, S.ROW, S.ITEM_IDX)))
    return (
        interactions.groupBy(S.USER_IDX)
        .agg(ordered.alias("_seq"))
        .select(S.USER_IDX, F.col(f"_seq.{S.ITEM_IDX}").alias(S.ITEMS))
    )


def cooccurrence(seqs: DataFrame, window: int, top_n: int, max_pairs_per_playlist: int = 100_000) -> DataFrame:
    """(item_a, item_b, count): how often b stands within ``window`` positions of a, top ``top_n`` b per a.

    Pairs are generated inside each sequence with array functions (no self-join), so the work is
    len * window per playlist rather than len squared, and at most ``max_pairs_per_playlist`` (only the first
    max_pairs_per_playlist / window positions of a longer playlist start pairs). Symmetric; an item is never its
    own neighbour. Skew: pairs are shuffled by (a, b), which spreads a hot item's pairs over every partition, and
    Spark computes a partial top-N per item before the shuffle by item (WindowGroupLimit), so a hot item's final
    task sees at most partitions x top_n rows.
    """
    last_anchor = max(0, max_pairs_per_playlist // window - 1)
    pairs_expr = (
        f"flatten(transform(sequence(0, least(size({S.ITEMS}) - 2, {last_anchor})), i -> "
        f"transform(sequence(i + 1, least(i + {int(window)}, size({S.ITEMS}) - 1)), "
        f"j -> named_struct('a', {S.ITEMS}[i], 'b', {S.ITEMS}[j]))))"
    )
    pairs = (
        seqs.where(F.size(S.ITEMS) >= 2)
        .select(F.explode(F.expr(pairs_expr)).alias("p"))
        .where(F.col("p.a") != F.col("p.b"))
        .select(
            F.explode(
                F.array(
                    F.struct(F.col("p.a").alias("a"), F.col("p.b").alias("b")),
                    F.struct(F.col("p.b").alias("a"), F.col("p.a").alias("b")),
                )
            ).alias("p")
        )
        .select(F.col("p.a").alias(S.ITEM_A), F.col("p.b").alias(S.ITEM_B))
    )
    counts = pairs.groupBy(S.ITEM_A, S.ITEM_B).agg(F.count(F.lit(1)).alias(S.COUNT))
    rank = F.row_number().over(Window.partitionBy(S.ITEM_A).orderBy(F.col(S.COUNT).desc(), F.col(S.ITEM_B)))
    return counts.withColumn("_rank", rank).where(F.col("_rank") <= top_n).drop("_rank")
