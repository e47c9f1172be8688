"""The job's evaluation under the temporal split, on MovieLens' real timestamps (ratings >= 4 as interactions)."""

import json

import polars as pl
import pytest

from recsys.artifacts import resolve
from tests.conftest import run_build_job, shared_dataset

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_temporal_split_evaluates_what_came_after_the_cutoff(tmp_path):
    ratings = pl.read_csv(shared_dataset("movielens_latest_small") / "ratings.csv")
    positives = ratings.filter(pl.col("rating") >= 4.0).select(
        pl.col("userId").cast(pl.Utf8).alias("user_id"), pl.col("movieId").cast(pl.Utf8).alias("item_id"), "timestamp"
    )
    positives.write_csv(tmp_path / "ratings.csv")
    job = run_build_job(
        *("--input", str(tmp_path / "ratings.csv"), "--format", "long", "--output", str(tmp_path / "out")),
        *("--name", "ml", "--set", "evaluation.split=temporal", "--set", "evaluation.holdout_fraction=1.0"),
        *("--set", "item2vec.epochs=20"),
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    report = json.loads((resolve(tmp_path / "out", "ml") / "report.json").read_text())
    assert report["split"] == "temporal" and "80% time quantile" in report["protocol"]
    # measured: 428 pairs of 24 users are after the cutoff (MovieLens users rate in bursts)
    assert report["test_pairs"] > 300 and report["test_users"] >= 20
    for model, scores in report["models"].items():
        assert len(scores) == 11 and 0.0 <= scores["clicks"] <= 11.0, model
        assert all(0.0 <= value <= 1.0 for name, value in scores.items() if name != "clicks"), model
    # personalised models spread over more of the catalogue than popularity does
    assert report["models"]["als"]["coverage@10"] > 2 * report["models"]["popularity"]["coverage@10"]
