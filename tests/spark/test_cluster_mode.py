"""The job runs unchanged with separate executor processes and gives the same tables as local mode."""

import json

import numpy as np
import pyarrow.dataset as ds
import pytest

from recsys.artifacts import resolve
from tests.conftest import build_e2e

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def table(folder, name, sort):
    return ds.dataset(folder / name, format="parquet").to_table().sort_by([(c, "ascending") for c in sort])


def test_local_cluster_matches_local_mode(built, tmp_path):
    """The e2e bundle's job again with separate executor processes, which also train ALS with Spark MLlib
    (als.backend=spark) there; the e2e bundle itself is the local[2] run (implicit ALS)."""
    folder, _ = built
    job = build_e2e(folder, tmp_path / "cluster", "--set", "als.backend=spark", master="local-cluster[2,1,1024]")
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    local, cluster = resolve(folder / "artifacts", "e2e"), resolve(tmp_path / "cluster", "e2e")
    for name, sort in [
        ("users", ["user_idx"]),
        ("items", ["item_idx"]),
        ("tables/ratings", ["user_idx", "item_idx"]),
        ("tables/cooccurrence", ["item_a", "item_b"]),
        ("tables/sequences", ["user_idx"]),
    ]:
        assert table(local, name, sort).equals(table(cluster, name, sort)), f"{name} differs between masters"
    local_rules, cluster_rules = (table(b, "tables/transitions", ["item_a", "item_b"]) for b in (local, cluster))
    assert local_rules.select(["item_a", "item_b"]).equals(cluster_rules.select(["item_a", "item_b"]))
    assert np.allclose(local_rules["weight"].to_numpy(), cluster_rules["weight"].to_numpy())  # sums in any order
    reports = [json.loads((b / "report.json").read_text()) for b in (local, cluster)]
    assert reports[0]["test_users"] == reports[1]["test_users"] > 50  # the seeded split ignores partitioning
    assert json.loads((cluster / "manifest.json").read_text())["config"]["als"]["backend"] == "spark"
    assert not list(tmp_path.rglob("*_checkpoints"))  # MLlib's lineage checkpoints are removed after each fit
    for report in reports:  # both ALS backends learn the planted clusters
        assert report["models"]["als"]["recall@10"] > 2 * report["models"]["popularity"]["recall@10"]
