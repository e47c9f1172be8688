"""Spark readers, one per input format, all producing the canonical interactions table plus rejects.

Canonical interactions: user_id (string), item_id (string), count (long > 0), position (long: playlist order),
row (long: input order, the tie-breaker), timestamp (long or null).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession

from recsys.io.long import read_long
from recsys.io.mpd import read_mpd
from recsys.io.mtx import read_mtx
from recsys.io.rejects import (
    ReadResult,
    RejectRatioExceeded,
    RejectReason,
    UnreadableInput,
    check_reject_ratio,
    summarize_rejects,
)
from recsys.io.yes import read_yes
from recsys.settings import InputSettings

FORMATS = ("long", "yes", "mpd", "mtx")


@dataclass(frozen=True)
class InputSpec:
    """What to read: the path and format, plus the side files some formats take."""

    path: str
    format: str
    items: str | None = None  # long: item metadata with an item_id column
    row_labels: str | None = None  # mtx: one user id per line, line i names row i
    column_labels: str | None = None  # mtx: one item id per line, line j names column j
    playlists: str | None = None  # long: playlist names, user_id,name

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown input format {self.format!r}; expected one of {', '.join(FORMATS)}")
        if self.items and self.format != "long":
            raise ValueError(f"--items is for --format long; {self.format} brings its own metadata or none")
        if self.playlists and self.format != "long":
            raise ValueError(f"--playlists is for --format long; {self.format} brings its own names or none")
        if (self.row_labels or self.column_labels) and self.format != "mtx":
            raise ValueError("--row-labels and --column-labels are for --format mtx")


def read_interactions(spark: SparkSession, spec: InputSpec, settings: InputSettings) -> ReadResult:
    """Dispatch on the format."""
    if spec.format == "long":
        return read_long(spark, spec.path, settings, spec.items, spec.playlists)
    if spec.format == "yes":
        return read_yes(spark, spec.path)
    if spec.format == "mpd":
        return read_mpd(spark, spec.path, settings)
    return read_mtx(spark, spec.path, settings, spec.row_labels, spec.column_labels)


__all__ = [
    "FORMATS",
    "InputSpec",
    "ReadResult",
    "RejectRatioExceeded",
    "RejectReason",
    "UnreadableInput",
    "check_reject_ratio",
    "read_interactions",
    "summarize_rejects",
]
