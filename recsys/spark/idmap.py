"""String id <-> dense int index maps, assigned in Spark without collecting ids on the driver."""

from __future__ import annotations

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from recsys import schemas as S


def dense_index(ids: DataFrame, id_col: str, idx_col: str, order: list[Column]) -> DataFrame:
    """Number the rows of ``ids`` 0..n-1 in ``order`` (a global sort, then zipWithIndex: no single partition)."""
    ordered = ids.orderBy(*order).select(id_col)
    schema = StructType([StructField(id_col, StringType(), False), StructField(idx_col, IntegerType(), False)])
    return ordered.rdd.zipWithIndex().map(lambda pair: (pair[0][0], pair[1])).toDF(schema)


def user_index(interactions: DataFrame) -> DataFrame:
    """(user_id, user_idx), users sorted by id so the map is stable for the same input."""
    users = interactions.select(S.USER_ID).distinct()
    return dense_index(users, S.USER_ID, S.USER_IDX, [F.col(S.USER_ID)])


def item_index(interactions: DataFrame) -> DataFrame:
    """(item_id, item_idx), most-held items first (ties by id): hot rows of every item matrix sit together."""
    items = interactions.groupBy(S.ITEM_ID).agg(F.countDistinct(S.USER_ID).alias("_users"))
    return dense_index(items, S.ITEM_ID, S.ITEM_IDX, [F.col("_users").desc(), F.col(S.ITEM_ID)])


def apply_index(interactions: DataFrame, users: DataFrame, items: DataFrame) -> DataFrame:
    """Replace string ids by their dense indexes; every interaction has both by construction."""
    return (
        interactions.join(users, S.USER_ID)
        .join(items, S.ITEM_ID)
        .select(S.USER_IDX, S.ITEM_IDX, S.COUNT, S.POSITION, S.ROW, S.TIMESTAMP)
    )


#: Item metadata columns naming an item's artist, the most specific first (mpd: uri then name; yes and long: artist).
ARTIST_COLUMNS = ("artist_uri", "artist", "artist_name")


def artist_index(catalogue: DataFrame, n_items: int) -> np.ndarray | None:
    """``artist_of[item_idx]``: a dense artist number per item, -1 where unknown; None when the catalogue names no
    artists. What R-precision with artist credit needs; one int per item reaches the driver, no names."""
    column = next((c for c in ARTIST_COLUMNS if c in catalogue.columns), None)
    if column is None:
        return None
    named = catalogue.select(S.ITEM_IDX, F.trim(F.col(column)).alias("_artist")).where(F.col("_artist") != "")
    artists = dense_index(named.select("_artist").distinct(), "_artist", "_artist_idx", [F.col("_artist")])
    known = named.join(artists, "_artist").select(S.ITEM_IDX, "_artist_idx").toArrow()
    artist_of = np.full(n_items, -1, dtype=np.int64)
    artist_of[known[S.ITEM_IDX].to_numpy()] = known["_artist_idx"].to_numpy()
    return artist_of
