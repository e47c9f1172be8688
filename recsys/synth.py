"""Synthetic playlist click logs with planted structure, so tests know which recommendations are right.

python -m recsys.synth --playlists N --tracks M --out clicks.csv [--items tracks.csv] [--clusters C] [--seed S]
python -m recsys.synth --spark --playlists 1000000 --tracks 2200000 --mean-length 66 --out mpd_like.parquet
python -m recsys.synth --format mpd --playlists N --tracks M --out SLICES_DIR [--challenge challenge_set.json]

Planted: tracks belong to taste clusters; each playlist draws from one cluster (with a little global noise);
popularity inside a cluster follows a power law; each track has a preferred successor in its cluster, taken
as the next song with probability ``p_next``. Output is the ``long`` format (user_id,item_id,position) and,
with --items, track metadata (item_id,title,cluster) whose ``cluster`` column is the ground truth.
Without --spark the log is drawn on this machine (tests, demos); with --spark inside Spark's executors, written as
a Parquet folder, at any size. --format mpd writes MPD-shaped JSON slices with playlist names, and --challenge a
challenge set beside them (recsys/synth_mpd.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from recsys import commands

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynthConfig:
    playlists: int = 1000
    tracks: int = 500
    clusters: int = 8
    mean_length: float = 20.0
    min_length: int = 3
    max_length: int = 100
    zipf: float = 1.0  # popularity exponent inside a cluster
    p_next: float = 0.5  # chance the next song is the current song's planted successor
    noise: float = 0.05  # chance a song is drawn from the whole catalogue instead of the cluster
    seed: int = 0


@dataclass(frozen=True)
class SynthLog:
    clicks: pl.DataFrame  # user_id, item_id, position
    tracks: pl.DataFrame  # item_id, title, cluster
    successor: np.ndarray  # planted next track of each track


@dataclass(frozen=True)
class Catalogue:
    """The planted track structure. It follows from the config alone, so every Spark task rebuilds it identically.

    Track t belongs to cluster t % C with popularity rank t // C inside it; its successor is the next track of a
    seeded random cycle through its cluster, so the planted next song is unrelated to popularity.
    """

    clusters: int
    cluster: np.ndarray
    successor: np.ndarray
    weights: np.ndarray  # cumulative power-law weight of ranks 0..largest cluster size - 1
    sizes: np.ndarray

    @classmethod
    def of(cls, config: SynthConfig) -> Catalogue:
        if config.tracks < config.clusters * 2:
            raise ValueError("need at least two tracks per cluster")
        t = np.arange(config.tracks, dtype=np.int64)
        c = config.clusters
        sizes = np.bincount(t % c, minlength=c)
        cycle = np.lexsort((np.random.default_rng(config.seed).random(config.tracks), t % c))  # shuffled per cluster
        first_of_cluster = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        following = np.roll(cycle, -1)
        last = np.cumsum(sizes) - 1
        following[last] = cycle[first_of_cluster]  # each cluster's last track wraps to its first
        successor = np.empty_like(t)
        successor[cycle] = following
        weights = np.cumsum(1.0 / np.arange(1, sizes.max() + 1) ** config.zipf)
        return cls(c, t % c, successor, weights, sizes)

    def draw(self, clusters: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One power-law draw inside each given cluster (inverse CDF over the cluster's ranks)."""
        total = self.weights[self.sizes[clusters] - 1]
        rank = np.searchsorted(self.weights, rng.random(len(clusters)) * total, side="right")
        return np.minimum(rank, self.sizes[clusters] - 1) * self.clusters + clusters


def playlist_batch(first: int, count: int, config: SynthConfig, catalogue: Catalogue) -> dict[str, np.ndarray]:
    """Playlists first..first+count-1 as (user, track, position) arrays, all playlists stepped together.

    Seeded by (seed, first): the same batches give the same log.
    """
    rng = np.random.default_rng([config.seed, first])
    lengths = np.clip(rng.geometric(1.0 / config.mean_length, count), config.min_length, config.max_length)
    clusters = rng.integers(config.clusters, size=count)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    tracks = np.empty(int(lengths.sum()), dtype=np.int64)
    current = catalogue.draw(clusters, rng)
    for step in range(int(lengths.max(initial=0))):
        active = np.flatnonzero(lengths > step)
        tracks[offsets[active] + step] = current[active]
        draw = rng.random(count)
        noise = catalogue.draw(rng.integers(config.clusters, size=count), rng)
        own = catalogue.draw(clusters, rng)
        nxt = np.where(draw < config.p_next + config.noise, noise, own)
        current = np.where(draw < config.p_next, catalogue.successor[current], nxt)
    users = np.repeat(np.arange(first, first + count, dtype=np.int64), lengths)
    positions = np.arange(len(tracks)) - np.repeat(offsets, lengths)
    return {"user": users, "track": tracks, "position": positions.astype(np.int32)}


def generate(config: SynthConfig) -> SynthLog:
    """The whole log on this machine, for tests and demos; recsys.spark.synth writes the same model at scale."""
    catalogue = Catalogue.of(config)
    batch = pl.DataFrame(playlist_batch(0, config.playlists, config, catalogue))
    clicks = batch.select(
        pl.format("p{}", "user").alias("user_id"), pl.format("t{}", "track").alias("item_id"), "position"
    )
    return SynthLog(clicks, track_table(catalogue), catalogue.successor)


def track_table(catalogue: Catalogue) -> pl.DataFrame:
    """Track metadata (item_id, title, cluster): the ground truth the tests read back from the service."""
    ids = np.arange(len(catalogue.cluster))
    return pl.DataFrame({"track": ids, "cluster": catalogue.cluster}).select(
        pl.format("t{}", "track").alias("item_id"), pl.format("Track {}", "track").alias("title"), "cluster"
    )


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
        from recsys.synth_mpd import check_challenge_config, write_challenge, write_slices

        if args.challenge:
            check_challenge_config(config)  # before the slices are written, not after
        write_slices(config, out)
        if args.challenge:
            challenge = Path(args.challenge)
            write_challenge(config, args.per_category, challenge, challenge.with_suffix(".holdouts.json"))
    elif args.spark:
        from recsys.settings import SparkSettings
        from recsys.spark.session import spark_session
        from recsys.spark.synth import write_synthetic

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
