"""Text inputs whose meaning depends on line numbers (Yes.com playlists, MatrixMarket headers, label files)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession


def numbered_lines(spark: SparkSession, path: str) -> DataFrame:
    """(value, line) with the 0-based line number, kept in file order by zipWithIndex (no single partition)."""
    lines = spark.read.text(path)
    return lines.rdd.zipWithIndex().map(lambda pair: (pair[0][0], pair[1])).toDF("value string, line long")
