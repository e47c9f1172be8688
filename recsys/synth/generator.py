"""Synthetic playlist click logs with planted structure, so tests know which recommendations are right.

Planted: tracks belong to taste clusters; each playlist draws from one cluster (with a little global noise);
popularity inside a cluster follows a power law; each track has a preferred successor in its cluster, taken
as the next song with probability ``p_next``. Output is the ``long`` format (user_id,item_id,position) and,
with --items, track metadata (item_id,title,cluster) whose ``cluster`` column is the ground truth.
``generate`` draws the log on this machine (tests, demos); recsys/synth/spark.py draws the same model inside
Spark's executors at any size; recsys/synth/mpd.py writes it as MPD-shaped JSON slices with playlist names. The
command line (``python -m recsys.synth``) is recsys/synth/__main__.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


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
    """The whole log on this machine, for tests and demos; recsys.synth.spark writes the same model at scale."""
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
