"""Synthetic playlist click logs with planted structure, so tests know which recommendations are right.

python -m recsys.synth --playlists N --tracks M --out clicks.csv [--items tracks.csv] [--clusters C] [--seed S]

Planted: tracks belong to taste clusters; each playlist draws from one cluster (with a little global noise);
popularity inside a cluster follows a power law; each track has a preferred successor in its cluster, taken
as the next song with probability ``p_next``. Output is the ``long`` format (user_id,item_id,position) and,
with --items, track metadata (item_id,title,cluster) whose ``cluster`` column is the ground truth.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

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


def _cluster_members(config: SynthConfig, rng: np.random.Generator) -> list[np.ndarray]:
    labels = rng.permutation(config.tracks) % config.clusters
    return [np.flatnonzero(labels == c) for c in range(config.clusters)]


def generate(config: SynthConfig) -> SynthLog:
    """Draw the whole log; sizes here are for tests and demos (the Spark generator is for scale)."""
    if config.tracks < config.clusters * 2:
        raise ValueError("need at least two tracks per cluster")
    rng = np.random.default_rng(config.seed)
    members = _cluster_members(config, rng)
    cluster_of = np.empty(config.tracks, dtype=np.int64)
    successor = np.empty(config.tracks, dtype=np.int64)
    weights = []
    for c, tracks in enumerate(members):
        cluster_of[tracks] = c
        cycle = rng.permutation(tracks)
        successor[cycle] = np.roll(cycle, -1)  # one cycle through the cluster
        w = 1.0 / np.arange(1, len(tracks) + 1) ** config.zipf
        weights.append(w / w.sum())
    global_weights = np.concatenate(weights) / config.clusters
    everything = np.concatenate(members)

    users, items, positions = [], [], []
    lengths = np.clip(rng.geometric(1.0 / config.mean_length, config.playlists), config.min_length, config.max_length)
    for playlist, length in enumerate(lengths):
        c = rng.integers(config.clusters)
        current = rng.choice(members[c], p=weights[c])
        for position in range(length):
            users.append(playlist)
            items.append(current)
            positions.append(position)
            draw = rng.random()
            if draw < config.p_next:
                current = successor[current]
            elif draw < config.p_next + config.noise:
                current = rng.choice(everything, p=global_weights)
            else:
                current = rng.choice(members[c], p=weights[c])

    clicks = pl.DataFrame(
        {
            "user_id": [f"p{u}" for u in users],
            "item_id": [f"t{i}" for i in items],
            "position": positions,
        }
    )
    tracks = pl.DataFrame(
        {
            "item_id": [f"t{i}" for i in range(config.tracks)],
            "title": [f"Track {i}" for i in range(config.tracks)],
            "cluster": cluster_of.astype(np.int64),
        }
    )
    return SynthLog(clicks, tracks, successor)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys.synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--playlists", type=int, default=SynthConfig.playlists)
    parser.add_argument("--tracks", type=int, default=SynthConfig.tracks)
    parser.add_argument("--clusters", type=int, default=SynthConfig.clusters)
    parser.add_argument("--seed", type=int, default=SynthConfig.seed)
    parser.add_argument("--out", required=True, help="clicks in the long format (.csv, or .parquet)")
    parser.add_argument("--items", help="also write track metadata with the planted cluster here (.csv)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    synth = generate(SynthConfig(playlists=args.playlists, tracks=args.tracks, clusters=args.clusters, seed=args.seed))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    synth.clicks.write_parquet(out) if out.suffix == ".parquet" else synth.clicks.write_csv(out)
    if args.items:
        Path(args.items).parent.mkdir(parents=True, exist_ok=True)
        synth.tracks.write_csv(args.items)
    log.info(
        "wrote %d clicks of %d playlists over %d tracks to %s", synth.clicks.height, args.playlists, args.tracks, out
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
