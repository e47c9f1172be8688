"""The synthetic log at any size: the planted model of recsys.synth run inside Spark's executors.

Each task generates its playlists with the vectorised batch generator and hands Arrow batches to Spark, so the
driver holds nothing; MPD-like sizes (1M playlists, 66M rows, 2.2M tracks) take minutes on 2 cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from recsys import schemas as S
from recsys.synth.generator import Catalogue, SynthConfig, playlist_batch

_SCHEMA = "user long, track long, position int"


def _generate(batches: Iterator[pa.RecordBatch], config: SynthConfig) -> Iterator[pa.RecordBatch]:
    catalogue = Catalogue.of(config)  # rebuilt per task from the config: identical everywhere
    for batch in batches:
        ids = batch.column(0)
        if len(ids):
            first = ids[0].as_py()
            yield pa.RecordBatch.from_pydict(playlist_batch(first, len(ids), config, catalogue))


def write_synthetic(spark: SparkSession, config: SynthConfig, out: str, partitions: int) -> None:
    """Write the long format (user_id, item_id, position) as Parquet at ``out``."""
    playlists = spark.range(0, config.playlists, numPartitions=partitions)
    rows = playlists.mapInArrow(partial(_generate, config=config), _SCHEMA)
    rows.select(
        F.concat(F.lit("p"), F.col("user").cast("string")).alias(S.USER_ID),
        F.concat(F.lit("t"), F.col("track").cast("string")).alias(S.ITEM_ID),
        F.col("position").alias(S.POSITION),
    ).write.parquet(out)
