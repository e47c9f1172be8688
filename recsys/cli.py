"""What the jobs' command lines share: the input options, the settings options, and logging."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from recsys.io import FORMATS, InputSpec, RejectRatioExceeded
from recsys.settings import Settings, load_settings
from recsys.spark.session import spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        required=True,
        help="click log: CSV/Parquet file or folder (long), Yes.com folder (yes), folder of MPD JSON "
        "slices (mpd), MatrixMarket coordinate file (mtx)",
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="input format (see README: Your own data)")
    parser.add_argument("--items", help="long format only: item metadata CSV/Parquet with an item_id column")
    parser.add_argument(
        "--playlists", help="long format only: playlist names, CSV/Parquet with user_id and name columns"
    )
    parser.add_argument("--row-labels", help="mtx only: one user id per line (line i names row i)")
    parser.add_argument("--column-labels", help="mtx only: one item id per line (line j names column j)")
    parser.add_argument(
        "--max-reject-ratio",
        type=float,
        metavar="RATIO",
        help="stop when more than this share of rows is malformed (input.max_reject_ratio, default 0.01)",
    )


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="settings layer conf/ENV.toml (default: $RECSYS_ENV)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set als.factors=128 (repeatable)",
    )


def input_spec(args: argparse.Namespace) -> InputSpec:
    return InputSpec(
        args.input, args.format, args.items, row_labels=args.row_labels, column_labels=args.column_labels,
        playlists=args.playlists,
    )  # fmt: skip


def settings_of(args: argparse.Namespace, *overrides: str) -> Settings:
    """The layered settings with --set, then the flags that are documented spellings of settings, applied."""
    extra = list(overrides)
    if args.max_reject_ratio is not None:
        extra.append(f"input.max_reject_ratio={args.max_reject_ratio}")
    return load_settings([*args.overrides, *extra], args.env)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("gensim").setLevel(logging.WARNING)  # a line per second; recsys.progress logs each epoch
    logging.getLogger("py4j").setLevel(logging.WARNING)


def run_on_spark(job: str, settings: Settings, work: Callable[[SparkSession], T]) -> T:
    """``work`` in a Spark session of ``settings.spark``, stopped afterwards. A problem with what the user gave (too
    many malformed rows, a value or input that cannot be used, a missing path) is logged under ``job``, without a
    traceback, and exits with status 2; anything else is a bug and keeps its traceback."""
    spark = spark_session(settings.spark)
    try:
        return work(spark)
    except (RejectRatioExceeded, ValueError, FileNotFoundError) as exc:
        logging.getLogger(job).error("%s", exc)
        raise SystemExit(2) from None
    finally:
        spark.stop()
