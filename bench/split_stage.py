"""The evaluation's split stage alone, this checkout's splits against another commit's, at MPD sizes.

python bench/split_stage.py --playlists 100000 1000000 --against COMMIT [--rounds 2] [--work data/mpd] [--record]

The build's "split and training tables" stage (recsys/spark/protocol.py write_evaluation_split, default settings:
the last item of ``evaluation.max_users`` playlists held out, the training part's ratings, sequences and
co-occurrence written) timed on one warm Spark session over the same cached, indexed MPD-shaped log
(bench/mpd.py's, generated once), with recsys/spark/splits.py as it is here and as it was at ``--against``,
taking turns round by round. Both must write the same held-out pairs and training ratings, or the run stops.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from mpd import REPO, generate
from timing import exponent, record

from recsys.io import InputSpec
from recsys.settings import load_settings
from recsys.spark import protocol, splits
from recsys.spark.ingest import run_spark_stages
from recsys.spark.session import release_heap, spark_session


def splits_at(commit: str, folder: Path) -> ModuleType:
    """recsys/spark/splits.py as it was at ``commit``, importable beside this checkout's."""
    source = subprocess.run(
        ["git", "show", f"{commit}:recsys/spark/splits.py"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    path = folder / f"splits_{commit}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def time_size(log: Path, variants: dict[str, ModuleType], rounds: int, scratch: Path) -> dict[str, list[float]]:
    """Seconds of each variant's split stage per round, the variants' order reversed every other round."""
    settings = load_settings([])
    spark = spark_session(settings.spark)
    outputs = run_spark_stages(spark, InputSpec(str(log), "long"), settings, scratch / "bundle")
    release_heap(spark)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    written: dict[str, tuple] = {}
    for r in range(rounds):
        for name in list(variants) if r % 2 == 0 else list(reversed(variants)):
            protocol.splits = variants[name]
            target = scratch / f"{name}-{r}"
            start = time.perf_counter()
            split = protocol.write_evaluation_split(
                outputs.indexed, settings, target, outputs.tables.n_users, outputs.tables.n_items
            )
            seconds[name].append(time.perf_counter() - start)
            held = spark.read.parquet(split.holdout).selectExpr("count(*)", "bit_xor(xxhash64(user_idx, item_idx))")
            written[name] = (*held.first(), spark.read.parquet(split.tables.ratings).count())
            shutil.rmtree(target)
        if len(set(written.values())) > 1:
            raise SystemExit(f"the splits wrote different tables (held-out count, hash; ratings rows): {written}")
    protocol.splits = splits
    spark.catalog.clearCache()
    release_heap(spark)
    shutil.rmtree(scratch)  # this size's tables (20 GB at full size) before the next size's
    return seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/split_stage.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--playlists", type=int, nargs="+", required=True, help="sizes, smallest first")
    parser.add_argument("--against", required=True, help="the commit whose recsys/spark/splits.py to time beside")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per size, each variant once a round")
    parser.add_argument("--work", type=Path, default=REPO / "data" / "mpd", help="where bench/mpd.py keeps logs")
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    known = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{args.against}^{{commit}}"], cwd=REPO, capture_output=True
    )
    if known.returncode != 0:
        parser.error(f"--against {args.against}: no such commit here (a hash or branch, e.g. main)")
    args.work.mkdir(parents=True, exist_ok=True)
    rows, medians = [], []
    with tempfile.TemporaryDirectory(dir=args.work) as folder:
        variants = {"here": splits, args.against: splits_at(args.against, Path(folder))}
        for playlists in args.playlists:
            seconds = time_size(generate(args.work, playlists), variants, args.rounds, Path(folder) / str(playlists))
            median = {name: statistics.median(taken) for name, taken in seconds.items()}
            medians.append((playlists, median))
            times = " | ".join(", ".join(f"{s:.1f}" for s in seconds[name]) for name in variants)
            rows.append(f"| {playlists:,} | {times} | {median[args.against] / median['here']:.2f}x |")
    head = f"| playlists | this checkout: s per round | {args.against}: s per round | {args.against} / this |"
    lines = [head, "|---:|---|---|---:|", *rows]
    if len(medians) > 1:
        (small, first), (large, last) = medians[0], medians[-1]
        lines.append("")
        lines.append(
            f"Exponent of the medians, {small:,} -> {large:,} playlists: this checkout "
            f"{exponent(first['here'], last['here'], large / small):.2f}, {args.against} "
            f"{exponent(first[args.against], last[args.against], large / small):.2f}."
        )
    table = "\n".join(lines)
    print(table)
    if args.record:
        record(
            "The evaluation's split stage alone", "python bench/split_stage.py " + " ".join(argv),
            " (default settings; one warm Spark session per size, the variants taking turns)", table,
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
