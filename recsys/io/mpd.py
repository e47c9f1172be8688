"""The Spotify Million Playlist Dataset format: a folder of ``mpd.slice.*.json`` files, 1,000 playlists each.

Spark reads the slices in parallel (one JSON document per file), so the driver never parses them. Every leaf is
read as a string and parsed with try_cast: one bad value rejects its track row, not the whole slice. A slice
that is not valid JSON is rejected whole, named by its file.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from recsys import schemas as S
from recsys.io.rejects import ReadResult, id_checks, integer_check, item_id_checks, split_valid
from recsys.settings import InputSettings

TRACK_FIELDS = ("pos", "track_uri", "track_name", "artist_uri", "artist_name", "album_uri", "album_name", "duration_ms")
METADATA = ("track_name", "artist_name", "album_name", "artist_uri", "album_uri")
_CORRUPT = "_corrupt_record"

SLICE_SCHEMA = StructType(
    [
        StructField(
            "playlists",
            ArrayType(
                StructType(
                    [
                        StructField("pid", StringType()),
                        StructField("name", StringType()),
                        StructField(
                            "tracks", ArrayType(StructType([StructField(f, StringType()) for f in TRACK_FIELDS]))
                        ),
                    ]
                )
            ),
        ),
        StructField(_CORRUPT, StringType()),
    ]
)


def read_mpd(spark: SparkSession, folder: str, settings: InputSettings) -> ReadResult:
    """Playlists become users (id = pid), tracks items (id = track_uri); track, artist and album names become item
    metadata, playlist names the users' ``name``."""
    slices = (
        spark.read.schema(SLICE_SCHEMA)
        .option("multiLine", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .json(folder)
        .withColumn("_file", F.col("_metadata.file_path"))
        .cache()  # Spark refuses queries on the corrupt column of an uncached JSON scan
    )
    bad_files = slices.where(F.col(_CORRUPT).isNotNull()).select(
        F.col("_file").alias(S.SOURCE),
        F.substring(_CORRUPT, 1, 200).alias(S.RAW),
        F.lit("not valid JSON").alias(S.REASON),
    )
    playlists = slices.where(F.col(_CORRUPT).isNull()).select("_file", F.explode("playlists").alias("p"))
    tracks = playlists.select("_file", F.col("p.pid").alias(S.USER_ID), F.explode_outer("p.tracks").alias("t")).select(
        "_file", S.USER_ID, *[F.col(f"t.{f}").alias(f) for f in TRACK_FIELDS]
    )
    tracks = tracks.withColumn(S.ITEM_ID, F.col("track_uri")).withColumn("_pos", F.col("pos").try_cast("long"))

    checks = id_checks(S.USER_ID, settings.max_id_length) + [
        (F.col("track_uri").isNull() & F.col("pos").isNull(), "playlist without tracks"),
        *item_id_checks(settings.max_id_length),
        integer_check("pos", F.col("_pos")),
        (F.col("_pos") < 0, "pos is negative"),
    ]
    raw = F.to_json(F.struct(S.USER_ID, *TRACK_FIELDS))
    valid, rejects = split_valid(tracks, checks, raw, source=F.col("_file"))

    interactions = valid.select(
        S.USER_ID,
        S.ITEM_ID,
        F.lit(1).cast("long").alias(S.COUNT),
        F.col("_pos").alias(S.POSITION),
        F.col("_pos").alias(S.ROW),
        F.lit(None).cast("long").alias(S.TIMESTAMP),
    )
    metadata = valid.groupBy(S.ITEM_ID).agg(*[F.first(c, ignorenulls=True).alias(c) for c in METADATA])
    names = (
        playlists.select(F.col("p.pid").alias(S.USER_ID), F.col("p.name").alias(S.NAME))
        .where(F.col(S.USER_ID).isNotNull() & F.col(S.NAME).isNotNull())
        .groupBy(S.USER_ID)
        .agg(F.first(S.NAME).alias(S.NAME))  # a pid twice (never in the MPD) keeps one name, not two rows
    )
    return ReadResult(interactions, bad_files.unionByName(rejects), metadata, names)
