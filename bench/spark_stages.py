"""Wall time and peak memory of the build's Spark stages at growing log sizes, with the single-node peer beside it.

python bench/spark_stages.py --rows 1000000 10000000 [--als-rows 10000000] [--work DIR] [--record]

For each size, an MPD-shaped synthetic log is generated once inside Spark: 66 tracks per playlist on average and
one track per 30 rows, as in the Million Playlist Dataset, in taste clusters of 2,000 tracks. A fresh process then
runs the job's own Spark stages (recsys.spark.ingest.run_spark_stages: read, validate and rejects, id maps, ratings,
sequences, co-occurrence) and, with the JVM warm, the same per-(user, item) count aggregation in Spark and in
polars. The parent samples the child's whole process tree (JVM, Python driver and workers) for peak resident
memory. With --als-rows, implicit ALS and Spark MLlib ALS train on that size's ratings with the same factors and
report seconds per iteration.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from timing import best_of, exponent, record, tree_rss_bytes

ALS_ITERATIONS = 5
ALS_FACTORS = 64


def log_path(work: Path, rows: int) -> Path:
    return work / f"log-{rows}"


def generate(work: Path, rows: int) -> None:
    """The MPD-shaped log for ``rows`` rows, generated in Spark once and reused across runs."""
    if log_path(work, rows).exists():
        return
    from recsys.settings import SparkSettings
    from recsys.spark.session import spark_session
    from recsys.synth import SynthConfig
    from recsys.synth.spark import write_synthetic

    config = SynthConfig(
        playlists=rows // 66,
        tracks=max(rows // 30, 1000),
        clusters=1000,
        mean_length=66.0,
        min_length=5,
        max_length=250,
        seed=1,
    )
    spark = spark_session(SparkSettings(app_name="bench-generate"))
    try:
        write_synthetic(spark, config, str(log_path(work, rows)), partitions=32)
    finally:
        spark.stop()


def measure(work: Path, rows: int, als: bool) -> dict[str, float]:
    """Runs in the child process: every figure for one size."""
    import polars as pl
    from pyspark.sql import functions as F

    from recsys import schemas as S
    from recsys.artifacts import BundleWriter
    from recsys.io import InputSpec
    from recsys.settings import Settings
    from recsys.spark.ingest import run_spark_stages
    from recsys.spark.session import spark_session

    settings = Settings()
    source = str(log_path(work, rows))
    figures: dict[str, float] = {}
    start = time.perf_counter()
    spark = spark_session(settings.spark)
    figures["jvm_start_s"] = time.perf_counter() - start

    with tempfile.TemporaryDirectory(dir=work) as scratch, BundleWriter(scratch, "bench") as bundle:
        start = time.perf_counter()
        outputs = run_spark_stages(spark, InputSpec(source, "long"), settings, bundle.staging)
        figures["spark_stages_s"] = time.perf_counter() - start
        figures["rows"] = outputs.n_valid

        def spark_count() -> None:
            counts = spark.read.parquet(source).groupBy(S.USER_ID, S.ITEM_ID).agg(F.count(F.lit(1)).alias(S.COUNT))
            counts.write.mode("overwrite").parquet(f"{scratch}/spark_counts")

        def polars_count() -> None:
            counts = pl.scan_parquet(f"{source}/*.parquet").group_by(S.USER_ID, S.ITEM_ID).agg(pl.len().alias(S.COUNT))
            counts.sink_parquet(f"{scratch}/polars_counts.parquet")

        figures["spark_count_s"], figures["polars_count_s"] = best_of(spark_count, polars_count)

        if als:
            figures.update(time_als(spark, outputs.tables))
    spark.stop()
    return figures


def time_als(spark, tables) -> dict[str, float]:
    """Seconds per iteration of implicit (this node) and Spark MLlib ALS on the same ratings and factors."""
    from recsys.matrices import read_user_items
    from recsys.models import ALS
    from recsys.settings import ALSSettings
    from recsys.spark.als import fit_spark_als

    settings = ALSSettings(factors=ALS_FACTORS, iterations=ALS_ITERATIONS)
    user_items = read_user_items(tables.ratings, tables.n_users, tables.n_items)
    start = time.perf_counter()
    ALS(settings).fit(user_items)
    implicit_s = (time.perf_counter() - start) / ALS_ITERATIONS
    start = time.perf_counter()
    ratings = spark.read.parquet(tables.ratings)
    fit_spark_als(ratings, tables.n_users, tables.n_items, settings, f"{tables.ratings}_checkpoints")
    mllib_s = (time.perf_counter() - start) / ALS_ITERATIONS
    return {"als_nnz": float(user_items.nnz), "implicit_s_per_iter": implicit_s, "mllib_s_per_iter": mllib_s}


def run_child(work: Path, rows: int, als: bool, driver_memory: str | None) -> dict[str, float]:
    """One size in a fresh process (fresh JVM), sampling its tree's memory every 0.2 s."""
    command = [sys.executable, __file__, "--child", str(rows), "--work", str(work)] + (["--child-als"] if als else [])
    env = dict(os.environ)
    if driver_memory:  # local mode: the driver JVM is the executor; its heap is fixed when Python launches it
        env["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {driver_memory} pyspark-shell"
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(child.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"benchmark child for {rows} rows failed ({child.returncode})")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["peak_rss_gib"] = peak / 2**30
    return figures


def report(results: dict[int, dict[str, float]]) -> str:
    lines = [
        "| rows | Spark stages (s) | JVM start (s) | peak RSS (GiB) | Spark count (s, best of 3) "
        "| polars count (s, best of 3) | Spark / polars |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, f in sorted(results.items()):
        lines.append(
            f"| {int(f['rows']):,} | {f['spark_stages_s']:.1f} | {f['jvm_start_s']:.1f} | {f['peak_rss_gib']:.1f} | "
            f"{f['spark_count_s']:.1f} | {f['polars_count_s']:.1f} | {f['spark_count_s'] / f['polars_count_s']:.1f} |"
        )
    sizes = sorted(results)
    for small, large in zip(sizes, sizes[1:], strict=False):
        grew = exponent(results[small]["spark_stages_s"], results[large]["spark_stages_s"], large / small)
        lines.append(f"\nScaling exponent of the Spark stages, {small:,} -> {large:,} rows: {grew:.2f}")
    for rows, f in sorted(results.items()):
        if "implicit_s_per_iter" in f:
            lines.append(
                f"\nALS at {rows:,} rows ({int(f['als_nnz']):,} ratings, {ALS_FACTORS} factors, {ALS_ITERATIONS} "
                f"iterations, fit time / iterations): implicit {f['implicit_s_per_iter']:.2f} s/iter, Spark MLlib "
                f"{f['mllib_s_per_iter']:.2f} s/iter, ratio {f['mllib_s_per_iter'] / f['implicit_s_per_iter']:.1f}x"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--als-rows", type=int, help="also time implicit vs MLlib ALS on this size's ratings")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "recsys-bench")
    parser.add_argument("--driver-memory", help="Spark driver heap, e.g. 8g (default: Spark's 1g)")
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-als", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
        print(json.dumps(measure(args.work, args.child, args.child_als)))
        return 0

    for rows in args.rows:
        generate(args.work, rows)
    results = {rows: run_child(args.work, rows, rows == args.als_rows, args.driver_memory) for rows in args.rows}
    table = report(results)
    print(table)
    if args.record:
        heap = args.driver_memory or "Spark default 1g"
        conditions = f" (Spark local[*], project default settings, driver heap {heap})"
        record("Spark stages vs polars", "python bench/spark_stages.py " + " ".join(argv), conditions, table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
