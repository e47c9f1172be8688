"""What the jobs' command lines share: the input options, the settings options, and logging."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from recsys.artifacts import sweep_abandoned
from recsys.io import FORMATS, InputSpec, RejectRatioExceeded
from recsys.settings import Settings, load_settings
from recsys.spark.progress import SparkProgress
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


class _NoInterruptTracebacks(logging.Filter):
    """py4j logs a Ctrl-C that lands in the middle of one of its calls with the whole traceback, or the error it
    meets next on the connection the Ctrl-C broke (a BrokenPipeError raised while handling it): the command says it
    was interrupted itself, in one line (commands.run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _raised_by_interrupt(record.exc_info[1]))


def _raised_by_interrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` is a KeyboardInterrupt or was raised, directly or not, while one was being handled."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_NoInterruptTracebacks())
    logging.getLogger("gensim").setLevel(logging.WARNING)  # a line per second; recsys.progress logs each epoch
    logging.getLogger("py4j").setLevel(logging.WARNING)


def run_on_spark(job: str, settings: Settings, work: Callable[[SparkSession], T]) -> T:
    """``work`` in a Spark session of ``settings.spark``, stopped afterwards. A problem with what the user gave (too
    many malformed rows, a value or input that cannot be used, a missing path) is logged under ``job``, without a
    traceback, and exits with status 2; anything else is a bug and keeps its traceback.

    Ctrl-C is the job's to handle (_interrupt): it ends with one line and exit status 130, nothing published and
    nothing left behind. Whatever a failed build removed is removed again once Spark has stopped."""
    spark = spark_session(settings.spark)
    on_main_thread = threading.current_thread() is threading.main_thread()  # only there may a handler be set
    previous = signal.signal(signal.SIGINT, _interrupt(spark)) if on_main_thread else None
    if on_main_thread and "PYSPARK_GATEWAY_PORT" in os.environ:
        # spark-submit's JVM is this process's parent and gets the same Ctrl-C: it would stop Spark under the job
        # (and end this process's console with it); PySpark's own launch makes its JVM ignore Ctrl-C, so too here
        jvm = spark.sparkContext._jvm
        jvm.sun.misc.Signal.handle(jvm.sun.misc.Signal("INT"), jvm.sun.misc.SignalHandler.SIG_IGN)
    try:
        with SparkProgress(spark):
            return work(spark)
    except (RejectRatioExceeded, ValueError, FileNotFoundError) as exc:
        logging.getLogger(job).error("%s", exc)
        raise SystemExit(2) from None
    finally:
        spark.stop()
        sweep_abandoned()
        if on_main_thread:
            signal.signal(signal.SIGINT, previous)


def _interrupt(spark: SparkSession) -> Callable[[int, FrameType | None], None]:
    """The Ctrl-C handler of a job: Spark's console silenced, its jobs cancelled and their tasks ended, then a
    KeyboardInterrupt, so the build removes its unfinished bundle after the last task wrote into it.

    PySpark's own handler cancels from inside the py4j call Ctrl-C interrupted (a re-entrant call: pages of
    tracebacks) and raises at once, while the cancelled tasks still write: this one asks from another thread
    (its own py4j connection) and waits for it."""

    def handler(signum: int, frame: FrameType | None) -> None:
        quieting = threading.Thread(target=_quiesce, args=(spark,), daemon=True)
        quieting.start()
        quieting.join(JOBS_END_S)
        raise KeyboardInterrupt

    return handler


def _quiesce(spark: SparkSession) -> None:
    """Cancel the jobs still running and wait for them to end (nothing to wait for where Spark is gone already)."""
    with suppress(Exception):
        context = spark.sparkContext
        context.setLogLevel("OFF")  # the cancelled tasks' failures are not the user's news
        context.cancelAllJobs()
        deadline = time.monotonic() + JOBS_END_S
        while context.statusTracker().getActiveJobsIds() and time.monotonic() < deadline:
            time.sleep(0.1)


#: How long a Ctrl-C waits for the cancelled jobs to end.
JOBS_END_S = 30.0
