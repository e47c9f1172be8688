"""The job runs unchanged with separate executor processes and gives the same tables as local mode."""

import json

import pyarrow.dataset as ds
import pytest

from recsys.artifacts import resolve
from recsys.synth import SynthConfig, generate
from tests.conftest import run_build_job

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def table(folder, name, sort):
    return ds.dataset(folder / name, format="parquet").to_table().sort_by([(c, "ascending") for c in sort])


def test_local_cluster_matches_local_mode(tmp_path):
    """The cluster run also trains ALS with Spark MLlib (als.backend=spark) on the executors."""
    synth = generate(SynthConfig(playlists=400, tracks=120, clusters=4, seed=5))
    synth.clicks.write_csv(tmp_path / "clicks.csv")
    bundles = {}
    for master, backend in (("local[2]", "implicit"), ("local-cluster[2,1,1024]", "spark")):
        out = tmp_path / master.split("[")[0]
        job = run_build_job(
            "--input",
            str(tmp_path / "clicks.csv"),
            "--format",
            "long",
            "--output",
            str(out),
            "--name",
            "b",
            "--set",
            "item2vec.epochs=2",
            "--set",
            f"als.backend={backend}",
            master=master,
        )
        assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
        bundles[master] = resolve(out, "b")
    local, cluster = bundles.values()
    for name, sort in [
        ("users", ["user_idx"]),
        ("items", ["item_idx"]),
        ("tables/ratings", ["user_idx", "item_idx"]),
        ("tables/cooccurrence", ["item_a", "item_b"]),
        ("tables/sequences", ["user_idx"]),
    ]:
        assert table(local, name, sort).equals(table(cluster, name, sort)), f"{name} differs between masters"
    reports = [json.loads((b / "report.json").read_text()) for b in (local, cluster)]
    assert reports[0]["test_users"] == reports[1]["test_users"] > 50  # the seeded split ignores partitioning
    assert json.loads((cluster / "manifest.json").read_text())["config"]["als"]["backend"] == "spark"
    assert not list(tmp_path.rglob("*_checkpoints"))  # MLlib's lineage checkpoints are removed after each fit
    for report in reports:  # both ALS backends learn the planted clusters
        assert report["models"]["als"]["recall@10"] > 2 * report["models"]["popularity"]["recall@10"]
