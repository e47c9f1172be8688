"""Evaluation splits of indexed interactions, computed in Spark so that they scale with the log.

Every choice is a seeded hash of ids (``xxhash64``), never ``rand()``: a split is the same whatever the
partitioning or the number of executors. Each split returns the training interactions, the held-out
(user_idx, item_idx) pairs to predict, and, for held-out users only, the items each test user shows the model.

- ``last``: the last ``n`` items of a seeded share of playlists (next-song prediction).
- ``random``: a seeded ``share`` of the distinct items of a seeded share of users (at least one held, one kept).
- ``users``: strong generalisation (VAE-CF, EASE): a seeded share of users is left out of training entirely;
  ``share`` of each one's items are to be predicted from the rest, which the model sees only at evaluation.
- ``temporal``: everything after the time by which ``1 - share`` of the log had happened is held out, for users
  and items the training part knows; needs the input's timestamps.
- ``challenge``: the RecSys Challenge 2018's test set, built the way its organisers built theirs: held-out
  playlists leave training, each in one of the ten categories (recsys/synth/mpd.py: title only; title and first
  1, 5, 10, 25 or 100 tracks; first 5 or 10 without title; title and 25 or 100 at random), in equal shares, from
  the playlists long enough for it; the seeds are ``given``, the playlist's other tracks are to be predicted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recsys import schemas as S
from recsys.challenge import CATEGORIES, min_length

SplitKind = Literal["last", "random", "users", "temporal", "challenge"]


@dataclass(frozen=True)
class Split:
    train: DataFrame  # interactions, same columns as the input
    holdout: DataFrame  # distinct (user_idx, item_idx) to predict
    given: DataFrame | None  # users and challenge splits: the test users' interactions the model may see
    protocol: str  # one line for reports
    categories: DataFrame | None = None  # challenge split: (user_idx, category: an index into CATEGORIES)


def uniform(*columns: Column | str, seed: int) -> Column:
    """A number in [0, 1) from a seeded hash of the columns: the same on any partitioning."""
    return F.pmod(F.xxhash64(*columns, F.lit(seed)), F.lit(1_000_000)) / 1_000_000.0


def _drawn(interactions: DataFrame, fraction: float, seed: int) -> tuple[DataFrame, DataFrame]:
    """The rows of a seeded ``fraction`` of users, and everyone else's. A split ranks and counts the drawn users'
    rows only: at MPD size ``evaluation.max_users`` draws 1% of playlists, and a window over the whole log sorted
    all 64.7M rows to mark 10,000 users' last items, once for each table written from the training part."""
    drawn = uniform(S.USER_IDX, seed=seed) < fraction
    return interactions.where(drawn), interactions.where(~drawn)


def last_items(interactions: DataFrame, n: int, fraction: float, min_items: int, seed: int) -> Split:
    """The last ``n`` rows (by position, then input order) of a seeded ``fraction`` of playlists holding at least
    max(min_items, n + 1) rows."""
    drawn, rest = _drawn(interactions, fraction, seed)
    by_user = Window.partitionBy(S.USER_IDX)
    last_first = by_user.orderBy(F.col(S.POSITION).desc(), F.col(S.ROW).desc())
    marked = (
        drawn.withColumn("_n", F.count(F.lit(1)).over(by_user))
        .withColumn("_rank", F.row_number().over(last_first))
        .withColumn("_held", (F.col("_rank") <= n) & (F.col("_n") >= max(min_items, n + 1)))
    )
    train = rest.unionByName(marked.where(~F.col("_held")).drop("_n", "_rank", "_held"))
    holdout = marked.where(F.col("_held")).select(S.USER_IDX, S.ITEM_IDX).distinct()
    protocol = f"last {n} item(s) of {fraction:.0%} of playlists with >= {max(min_items, n + 1)} items held out"
    return Split(train, holdout, None, protocol)


def _ranked_items(interactions: DataFrame, seed: int) -> DataFrame:
    """Each user's distinct items with a seeded random rank (_r, from 1) and the user's distinct count (_n)."""
    pairs = interactions.select(S.USER_IDX, S.ITEM_IDX).distinct()
    order = Window.partitionBy(S.USER_IDX).orderBy(uniform(S.USER_IDX, S.ITEM_IDX, seed=seed), S.ITEM_IDX)
    return pairs.withColumn("_r", F.row_number().over(order)).withColumn(
        "_n", F.count(F.lit(1)).over(Window.partitionBy(S.USER_IDX))
    )


def _held_count(share: float) -> Column:
    """How many of a user's _n items to hold out: share of them, at least one, never all."""
    return F.least(F.greatest(F.lit(1), F.floor(F.col("_n") * share)), F.col("_n") - 1)


def random_items(interactions: DataFrame, share: float, fraction: float, min_items: int, seed: int) -> Split:
    """A seeded ``share`` of the distinct items of a seeded ``fraction`` of users with >= ``min_items`` items."""
    drawn, rest = _drawn(interactions, fraction, seed)
    ranked = _ranked_items(drawn, seed)
    holdout = ranked.where((F.col("_n") >= min_items) & (F.col("_r") <= _held_count(share)))
    holdout = holdout.select(S.USER_IDX, S.ITEM_IDX)
    train = rest.unionByName(drawn.join(holdout, [S.USER_IDX, S.ITEM_IDX], "left_anti"))
    protocol = f"{share:.0%} of the items of {fraction:.0%} of users with >= {min_items} items held out at random"
    return Split(train, holdout, None, protocol)


def held_out_users(interactions: DataFrame, share: float, fraction: float, min_items: int, seed: int) -> Split:
    """Strong generalisation: a seeded ``fraction`` of users (with >= ``min_items`` items) leaves training; a
    seeded ``share`` of each one's items is to be predicted, the rest is ``given`` at evaluation."""
    drawn, rest = _drawn(interactions, fraction, seed)
    test_users = _ranked_items(drawn, seed).where(F.col("_n") >= min_items)
    holdout = test_users.where(F.col("_r") <= _held_count(share)).select(S.USER_IDX, S.ITEM_IDX)
    users = test_users.select(S.USER_IDX).distinct()
    train = rest.unionByName(drawn.join(users, S.USER_IDX, "left_anti"))
    given = drawn.join(users, S.USER_IDX).join(holdout, [S.USER_IDX, S.ITEM_IDX], "left_anti")
    protocol = (
        f"{fraction:.0%} of users with >= {min_items} items left out of training; "
        f"{share:.0%} of each one's items predicted from the rest"
    )
    return Split(train, holdout, given, protocol)


def temporal(interactions: DataFrame, share: float, fraction: float, seed: int) -> Split:
    """Rows after the ``1 - share`` quantile of time are held out for a seeded ``fraction`` of users, keeping only
    (user, item) pairs whose user and item occur before it and that the user did not hold before."""
    stamped = interactions.where(F.col(S.TIMESTAMP).isNotNull())
    if stamped.limit(1).count() == 0:
        raise ValueError("the temporal split needs timestamps, and this input has none")
    cutoff = stamped.approxQuantile(S.TIMESTAMP, [1.0 - share], 0.001)[0]
    train = interactions.where(F.col(S.TIMESTAMP) <= cutoff)
    later = stamped.where((F.col(S.TIMESTAMP) > cutoff) & (uniform(S.USER_IDX, seed=seed) < fraction))
    holdout = (
        later.select(S.USER_IDX, S.ITEM_IDX)
        .distinct()
        .join(train.select(S.USER_IDX).distinct(), S.USER_IDX, "left_semi")
        .join(train.select(S.ITEM_IDX).distinct(), S.ITEM_IDX, "left_semi")
        .join(train.select(S.USER_IDX, S.ITEM_IDX), [S.USER_IDX, S.ITEM_IDX], "left_anti")
        .select(S.USER_IDX, S.ITEM_IDX)
    )
    protocol = f"interactions after the {1 - share:.0%} time quantile ({cutoff}) of {fraction:.0%} of users held out"
    return Split(train, holdout, None, protocol)


def assign_categories(lengths: np.ndarray, target: int) -> np.ndarray:
    """Each user's challenge category (an index into CATEGORIES), -1 for none, for ``target`` users in all:
    ``lengths`` are the playlists' lengths in the (seeded) order users are drawn. The categories fill in turn from
    the most demanding (100 seeds), each with a tenth of ``target`` among the users still free and long enough, so
    every category gets an equal share wherever the log has playlists long enough for it; categories equally
    demanding share what there is evenly when it is short."""
    category = np.full(len(lengths), -1, dtype=np.int64)
    quota = int(np.ceil(target / len(CATEGORIES)))
    needs = sorted({min_length(seeds) for _, seeds, _ in CATEGORIES}, reverse=True)
    for need in needs:
        group = [c for c, (_, seeds, _) in enumerate(CATEGORIES) if min_length(seeds) == need]
        free = np.flatnonzero((category < 0) & (lengths >= need))
        share = min(quota, len(free) // len(group))
        for i, c in enumerate(group):
            category[free[i * share : (i + 1) * share]] = c
    return category


def challenge(interactions: DataFrame, fraction: float, seed: int) -> Split:
    """The challenge split: ``fraction`` of the playlists long enough for the least demanding category leave
    training, in equal shares per category, drawn in a seeded order from all of them (a category of 100 seeds needs
    playlists of 200, rare in a uniform sample); the lengths and categories are handled on the driver (two integers
    per playlist), the seeds chosen in Spark."""
    shortest = min(min_length(seeds) for _, seeds, _ in CATEGORIES)
    drawn = (
        interactions.groupBy(S.USER_IDX)
        .agg(F.count(F.lit(1)).alias("_n"))
        .where(F.col("_n") >= shortest)
        .orderBy(uniform(S.USER_IDX, seed=seed), S.USER_IDX)
        .collect()
    )
    users = np.array([row[S.USER_IDX] for row in drawn], dtype=np.int64)
    lengths = np.array([row["_n"] for row in drawn], dtype=np.int64)
    category = assign_categories(lengths, int(round(fraction * len(drawn))))
    spark = interactions.sparkSession
    shape = [(c, seeds, first) for c, (_, seeds, first) in enumerate(CATEGORIES)]
    categories = spark.createDataFrame(
        [(int(u), int(c)) for u, c in zip(users, category, strict=True) if c >= 0],
        T.StructType([T.StructField(S.USER_IDX, T.IntegerType()), T.StructField("category", T.IntegerType())]),
    )
    kinds = spark.createDataFrame(shape, "category int, _seeds int, _first boolean")
    by_user = Window.partitionBy(S.USER_IDX)
    order = F.when(F.col("_first"), F.col(S.POSITION).cast("double")).otherwise(uniform(S.USER_IDX, S.ROW, seed=seed))
    marked = (
        interactions.join(F.broadcast(categories), S.USER_IDX)
        .join(F.broadcast(kinds), "category")
        .withColumn("_rank", F.row_number().over(by_user.orderBy(order, S.ROW)))
        .withColumn("_given", F.col("_rank") <= F.col("_seeds"))
    )
    given = marked.where("_given").select(*interactions.columns)
    holdout = (
        marked.where(~F.col("_given"))
        .select(S.USER_IDX, S.ITEM_IDX)
        .distinct()
        .join(given.select(S.USER_IDX, S.ITEM_IDX), [S.USER_IDX, S.ITEM_IDX], "left_anti")
    )
    train = interactions.join(F.broadcast(categories.select(S.USER_IDX)), S.USER_IDX, "left_anti")
    protocol = (
        f"{int((category >= 0).sum()):,} playlists ({fraction:.1%} of those with >= {shortest} tracks) left out of "
        "training in the RecSys Challenge 2018's ten categories; the rest of each playlist predicted"
    )
    return Split(train, holdout, given, protocol, categories)
