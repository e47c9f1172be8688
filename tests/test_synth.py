"""The synthetic generator plants what the tests rely on: clusters, successors, power-law popularity."""

import numpy as np
import polars as pl
import pytest

from recsys.synth import SynthConfig, generate
from recsys.synth.__main__ import main
from recsys.synth.spark import write_synthetic


def test_planted_structure_is_measurable():
    config = SynthConfig(playlists=800, tracks=200, clusters=4, p_next=0.5, noise=0.05, seed=1)
    synth = generate(config)
    clicks = synth.clicks.with_columns(
        pl.col("item_id").str.slice(1).cast(pl.Int64).alias("track"),
        pl.col("user_id").str.slice(1).cast(pl.Int64).alias("playlist"),
    ).sort("playlist", "position")
    tracks, playlists = clicks["track"].to_numpy(), clicks["playlist"].to_numpy()
    same_playlist = playlists[1:] == playlists[:-1]
    followed = (synth.successor[tracks[:-1]] == tracks[1:])[same_playlist].mean()
    assert 0.45 < followed < 0.6  # p_next, plus the odd successor drawn by chance

    cluster = synth.tracks["cluster"].to_numpy()
    same_cluster = (cluster[tracks[:-1]] == cluster[tracks[1:]])[same_playlist].mean()
    assert same_cluster > 0.9  # only the 5% global noise (and its return) leaves the cluster

    assert (cluster[synth.successor] == cluster).all()  # successors stay in the cluster
    counts = np.sort(np.bincount(tracks, minlength=config.tracks))[::-1]
    assert counts[:10].sum() > 5 * counts[-10:].sum()  # power law: a head and a long tail
    assert synth.clicks["user_id"].n_unique() == config.playlists


def test_cli_writes_the_long_format_and_metadata(tmp_path):
    assert (
        main(
            [
                "--playlists",
                "50",
                "--tracks",
                "40",
                "--clusters",
                "2",
                "--out",
                str(tmp_path / "c.csv"),
                "--items",
                str(tmp_path / "t.csv"),
            ]
        )
        == 0
    )
    clicks, tracks = pl.read_csv(tmp_path / "c.csv"), pl.read_csv(tmp_path / "t.csv")
    assert clicks.columns == ["user_id", "item_id", "position"]
    assert tracks.columns == ["item_id", "title", "cluster"] and tracks.height == 40
    assert set(clicks["item_id"]) <= set(tracks["item_id"])


@pytest.mark.spark
def test_spark_engine_writes_the_same_model_inside_executors(spark, tmp_path):
    """The Spark generator runs the same seeded batches, so with one batch it reproduces the local log exactly."""
    config = SynthConfig(playlists=300, tracks=90, clusters=3, seed=4)
    write_synthetic(spark, config, str(tmp_path / "log"), partitions=1)
    written = pl.read_parquet(tmp_path / "log" / "*.parquet").sort("user_id", "position")
    local = generate(config).clicks.sort("user_id", "position")
    assert written.select("user_id", "item_id", "position").equals(local.cast({"position": pl.Int32}))

    write_synthetic(spark, config, str(tmp_path / "split"), partitions=3)  # other batches: same model, other draws
    split = pl.read_parquet(tmp_path / "split" / "*.parquet")
    assert split["user_id"].n_unique() == 300 and split["item_id"].str.slice(1).cast(pl.Int64).max() < 90
