"""python -m recsys.synth: a synthetic log (recsys/synth/generator.py) written as a user's input would be.

python -m recsys.synth --playlists N --tracks M --out clicks.csv [--items tracks.csv] [--clusters C] [--seed S]
python -m recsys.synth --spark --playlists 1000000 --tracks 2200000 --mean-length 66 --out mpd_like.parquet
python -m recsys.synth --format mpd --playlists N --tracks M --out SLICES_DIR [--challenge challenge_set.json]

Without --spark the log is drawn on this machine (tests, demos); with --spark inside Spark's executors, written as
a Parquet folder, at any size. --format mpd writes MPD-shaped JSON slices with playlist names, and --challenge a
challenge set beside them (recsys/synth/mpd.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from recsys import commands
from recsys.synth.generator import Catalogue, SynthConfig, generate, track_table

log = logging.getLogger("recsys.synth")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys.synth", description=__doc__.split("\n\n")[0])
    defaults = SynthConfig()
    parser.add_argument("--playlists", type=int, default=defaults.playlists)
    parser.add_argument("--tracks", type=int, default=defaults.tracks)
    parser.add_argument("--clusters", type=int, default=defaults.clusters)
    parser.add_argument("--mean-length", type=float, default=defaults.mean_length, help="mean playlist length")
    parser.add_argument("--max-length", type=int, default=defaults.max_length, help="longest playlist")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--out", required=True, help="clicks in the long format (.csv or .parquet; a folder with --spark)"
    )
    parser.add_argument("--items", help="also write track metadata with the planted cluster here (.csv)")
    parser.add_argument(
        "--format", choices=("long", "mpd"), default="long", help="mpd: --out is a folder of MPD-shaped JSON slices"
    )
    parser.add_argument(
        "--challenge",
        help="with --format mpd: also write a challenge set of further playlists here (JSON), its held-out tracks "
        "beside it (NAME.holdouts.json)",
    )
    parser.add_argument(
        "--per-category", type=int, default=1000, help="challenge playlists per category (default: %(default)s)"
    )
    parser.add_argument("--spark", action="store_true", help="generate inside Spark's executors (any size)")
    parser.add_argument("--partitions", type=int, default=16, help="with --spark: number of generating tasks")
    args = parser.parse_args(argv)
    if args.format == "mpd" and args.spark:
        parser.error("--format mpd is written on this machine: leave out --spark")
    if args.challenge and args.format != "mpd":
        parser.error("--challenge needs --format mpd (a challenge set names MPD track URIs)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SynthConfig(
        playlists=args.playlists,
        tracks=args.tracks,
        clusters=args.clusters,
        mean_length=args.mean_length,
        max_length=args.max_length,
        seed=args.seed,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "mpd":
        from recsys.synth.mpd import check_challenge_config, write_challenge, write_slices

        if args.challenge:
            check_challenge_config(config)  # before the slices are written, not after
        write_slices(config, out)
        if args.challenge:
            challenge = Path(args.challenge)
            write_challenge(config, args.per_category, challenge, challenge.with_suffix(".holdouts.json"))
    elif args.spark:
        from recsys.settings import SparkSettings
        from recsys.spark.session import spark_session
        from recsys.synth.spark import write_synthetic

        spark = spark_session(SparkSettings(app_name="recsys-synth"))
        try:
            write_synthetic(spark, config, str(out), args.partitions)
        finally:
            spark.stop()
    else:
        synth = generate(config)
        synth.clicks.write_parquet(out) if out.suffix == ".parquet" else synth.clicks.write_csv(out)
    if args.items:
        Path(args.items).parent.mkdir(parents=True, exist_ok=True)
        track_table(Catalogue.of(config)).write_csv(args.items)
    log.info("wrote %d playlists over %d tracks to %s", args.playlists, args.tracks, out)
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("python -m recsys.synth", main))
