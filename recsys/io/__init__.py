"""Spark readers, one per input format, all producing the canonical interactions table plus rejects.

Canonical interactions: user_id (string), item_id (string), count (long > 0), position (long: playlist order),
row (long: input order, the tie-breaker), timestamp (long or null).
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from recsys.io.long import read_long
from recsys.io.rejects import ReadResult, RejectRatioExceeded, RejectReason, check_reject_ratio, summarize_rejects
from recsys.io.yes import read_yes
from recsys.settings import InputSettings

FORMATS = ("long", "yes")


def read_interactions(
    spark: SparkSession, fmt: str, path: str, settings: InputSettings, items_path: str | None = None
) -> ReadResult:
    """Dispatch on ``fmt``; ``items_path`` (item metadata with an item_id column) applies to ``long``."""
    if fmt == "long":
        return read_long(spark, path, settings, items_path)
    if fmt == "yes":
        if items_path:
            raise ValueError("--items is for --format long; the yes format carries song_hash.txt itself")
        return read_yes(spark, path)
    raise ValueError(f"unknown input format {fmt!r}; expected one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS", "ReadResult", "RejectRatioExceeded", "RejectReason", "check_reject_ratio", "read_interactions",
    "summarize_rejects",
]
