"""The tables every model reads: ratings, sequences, windowed item co-occurrence and directed transitions.

Pure DataFrame -> DataFrame transforms over indexed interactions (user_idx, item_idx, count, position, row).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import schemas as S

GAP = "gap"  # positions between the two items of an ordered pair


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


def _ordered_pairs(seqs: DataFrame, window: int, max_pairs_per_playlist: int) -> DataFrame:
    """(item_a, item_b, gap): b stands ``gap`` (1 to ``window``) positions after a in a sequence, a != b.

    Pairs are generated inside each sequence with array functions (no self-join), so the work is len * window per
    playlist rather than len squared, and at most ``max_pairs_per_playlist`` (only the first
    max_pairs_per_playlist / window positions of a longer playlist start pairs)."""
    last_anchor = max(0, max_pairs_per_playlist // window - 1)
    pairs_expr = (
        f"flatten(transform(sequence(0, least(size({S.ITEMS}) - 2, {last_anchor})), i -> "
        f"transform(sequence(i + 1, least(i + {int(window)}, size({S.ITEMS}) - 1)), "
        f"j -> named_struct('a', {S.ITEMS}[i], 'b', {S.ITEMS}[j], 'gap', j - i))))"
    )
    return (
        seqs.where(F.size(S.ITEMS) >= 2)
        .select(F.explode(F.expr(pairs_expr)).alias("p"))
        .where(F.col("p.a") != F.col("p.b"))
        .select(F.col("p.a").alias(S.ITEM_A), F.col("p.b").alias(S.ITEM_B), F.col("p.gap").alias(GAP))
    )


def _top_per_item(pairs: DataFrame, value: str, top_n: int) -> DataFrame:
    """The ``top_n`` rows of largest ``value`` per item_a (ties: the smaller item_b).

    Skew: pairs reach here shuffled by (a, b), which spreads a hot item's pairs over every partition, and Spark
    computes a partial top-N per item before the shuffle by item (WindowGroupLimit), so a hot item's final task
    sees at most partitions x top_n rows."""
    rank = F.row_number().over(Window.partitionBy(S.ITEM_A).orderBy(F.col(value).desc(), F.col(S.ITEM_B)))
    return pairs.withColumn("_rank", rank).where(F.col("_rank") <= top_n).drop("_rank")


def cooccurrence(seqs: DataFrame, window: int, top_n: int, max_pairs_per_playlist: int = 100_000) -> DataFrame:
    """(item_a, item_b, count): how often b stands within ``window`` positions of a, top ``top_n`` b per a.

    Symmetric (pairs from ``_ordered_pairs``, counted both ways); an item is never its own neighbour."""
    pairs = _ordered_pairs(seqs, window, max_pairs_per_playlist)
    both_ways = pairs.select(
        F.explode(
            F.array(
                F.struct(F.col(S.ITEM_A).alias("a"), F.col(S.ITEM_B).alias("b")),
                F.struct(F.col(S.ITEM_B).alias("a"), F.col(S.ITEM_A).alias("b")),
            )
        ).alias("p")
    ).select(F.col("p.a").alias(S.ITEM_A), F.col("p.b").alias(S.ITEM_B))
    counts = both_ways.groupBy(S.ITEM_A, S.ITEM_B).agg(F.count(F.lit(1)).alias(S.COUNT))
    return _top_per_item(counts, S.COUNT, top_n)


def transitions(seqs: DataFrame, window: int, top_n: int, max_pairs_per_playlist: int = 100_000) -> DataFrame:
    """(item_a, item_b, weight): sequential rules (Ludewig & Jannach 2018), how strongly b follows a.

    Each time b stands ``gap`` positions after a (within ``window``) adds 1 / gap; the ``top_n`` heaviest b per a
    are kept. Directed, unlike ``cooccurrence``: what comes after a song, not what stands beside it. Counted
    exactly, linear in the log, with no epochs: next-song at any size (docs/models.md)."""
    pairs = _ordered_pairs(seqs, window, max_pairs_per_playlist)
    weights = pairs.groupBy(S.ITEM_A, S.ITEM_B).agg(F.sum(1.0 / F.col(GAP)).cast("float").alias(S.WEIGHT))
    return _top_per_item(weights, S.WEIGHT, top_n)
