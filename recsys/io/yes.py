"""The Yes.com playlist format (Chen et al., KDD 2012): train.txt playlists plus song_hash.txt metadata."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys import schemas as S
from recsys.io.lines import numbered_lines
from recsys.io.rejects import ReadResult, integer_check, split_valid

HEADER_LINES = 2  # external song ids, then appearance counts


def _songs(spark: SparkSession, folder: str) -> tuple[DataFrame, DataFrame]:
    """song_hash.txt as item metadata (item_id, title, artist), plus its malformed lines."""
    path = f"{folder.rstrip('/')}/song_hash.txt"
    df = spark.read.text(path).withColumn("_f", F.split(F.col("value"), "\t"))
    df = df.withColumn("_id", F.get(F.col("_f"), 0).try_cast("long"))
    checks = [
        (F.size("_f") != 3, "expected id<TAB>title<TAB>artist"),
        integer_check("song id", F.col("_id")),
    ]
    valid, rejects = split_valid(df, checks, F.col("value"), source=path)
    metadata = valid.select(
        F.col("_id").cast("string").alias(S.ITEM_ID),
        F.get(F.col("_f"), 1).alias("title"),
        F.get(F.col("_f"), 2).alias("artist"),
    )
    return metadata, rejects


def read_yes(spark: SparkSession, folder: str) -> ReadResult:
    """One playlist per line after the header; its id is its 0-based line number among the playlists.

    Ids here are small integers, so the id-length checks of the long format do not apply.
    """
    path = f"{folder.rstrip('/')}/train.txt"  # not PurePosixPath: it would fold hdfs:// into hdfs:/
    metadata, song_rejects = _songs(spark, folder)

    playlists = numbered_lines(spark, path).where(F.col("line") >= HEADER_LINES)
    line_raw = F.format_string("line %d: %s", F.col("line") + 1, F.col("value"))
    playlists, empty_rejects = split_valid(playlists, [(F.trim("value") == "", "empty playlist")], line_raw, path)
    tokens = playlists.select(
        (F.col("line") - HEADER_LINES).cast("string").alias(S.USER_ID),
        "line",
        F.posexplode(F.split(F.trim("value"), " +")).alias(S.POSITION, "token"),
    )
    known = metadata.select(F.col(S.ITEM_ID).alias("_known"))
    tokens = tokens.withColumn("_id", F.col("token").try_cast("long")).join(
        known, F.col("_id").cast("string") == F.col("_known"), "left"
    )
    checks = [integer_check("song id", F.col("_id")), (F.col("_known").isNull(), "song id not in song_hash.txt")]
    raw = F.format_string("line %d: %s", F.col("line") + 1, F.col("token"))
    valid, token_rejects = split_valid(tokens, checks, raw, source=path)
    interactions = valid.select(
        S.USER_ID,
        F.col("_known").alias(S.ITEM_ID),
        F.lit(1).cast("long").alias(S.COUNT),
        F.col(S.POSITION).cast("long"),
        F.col(S.POSITION).cast("long").alias(S.ROW),
        F.lit(None).cast("long").alias(S.TIMESTAMP),
    )
    return ReadResult(interactions, song_rejects.unionByName(empty_rejects).unionByName(token_rejects), metadata)
