"""The image job's Spark half: list and read the image files (``binaryFile``, recursive) and embed them inside
the Python workers (``mapInPandas``: Arrow batches in, the backbone loaded once per worker process); files over
the byte limit are rejected from their listed size without being read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys.images.decode import Limits
from recsys.images.embed import embed_files
from recsys.settings import ImagesSettings

EMBEDDED = "path string, sha256 string, width int, height int, vector array<float>, reason string, thumbnail binary"


def embedded(spark: SparkSession, folder: str, s: ImagesSettings) -> DataFrame:
    """One row per file under ``folder``: its vector, or the reason it has none."""
    # a file Hadoop cannot open (a ':' in its name) is skipped, not the end of the job: the driver's listing
    # reports every file the read did not return (pipeline.with_unread)
    reader = spark.read.format("binaryFile").option("recursiveFileLookup", "true").option("ignoreCorruptFiles", "true")
    files = reader.load(folder)
    too_big = files.where(F.col("length") > s.max_bytes).select(
        "path",
        F.lit(None).cast("string").alias("sha256"),
        F.lit(0).alias("width"),
        F.lit(0).alias("height"),
        F.lit(None).cast("array<float>").alias("vector"),
        F.format_string(f"%,d bytes is over the limit of {s.max_bytes:,}", F.col("length")).alias("reason"),
        F.lit(None).cast("binary").alias("thumbnail"),
    )
    limits = Limits(s.max_bytes, s.max_pixels)
    backbone, device, batch_size, threads = s.backbone, s.device, s.batch_size, s.decode_threads
    # each task may use the cores Spark gave it, no more: torch's default (every core of the machine) in every
    # concurrent task oversubscribes the executor
    task_cpus = int(spark.conf.get("spark.task.cpus", "1"))

    def embed_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import torch

        torch.set_num_threads(task_cpus)
        rows = (
            (path, bytes(content)) for batch in batches for path, content in zip(batch.path, batch.content, strict=True)
        )
        out: list[dict[str, Any]] = []
        for e in embed_files(rows, backbone, device, batch_size, limits, threads):
            vector = None if e.vector is None else e.vector.astype(np.float32)
            out.append({"path": e.path, "sha256": e.sha256, "width": e.width, "height": e.height,
                        "vector": vector, "reason": e.reason, "thumbnail": e.thumbnail})  # fmt: skip
            if len(out) >= batch_size:
                yield pd.DataFrame(out)
                out = []
        if out:
            yield pd.DataFrame(out)

    small = files.where(F.col("length") <= s.max_bytes).select("path", "content")
    return small.mapInPandas(embed_partition, EMBEDDED).unionByName(too_big)
