"""spark-submit jobs/evaluate.py on real data: held-out users (strong generalisation) on yes_small.

item2vec trains 20 epochs here instead of the default 100 (a minute less on 2 cores): this tests the protocol and
its reports; test_quality_yes_small tests the defaults' quality. The ranker is trained and reported too.
"""

import json
import re

import numpy as np
import pytest

from tests.conftest import run_job, shared_dataset

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PERSONALISED = ("cooccurrence", "item2vec", "als", "ease", "user_knn", "blend", "ranker")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate") / "yes_small"
    job = run_job(
        "evaluate.py",
        *("--input", str(shared_dataset("yes_small")), "--format", "yes", "--split", "users"),
        *("--output", str(out), "--set", "item2vec.epochs=20", "--set", "ranker.enabled=true"),
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    return out, json.loads((out / "report.json").read_text()), job.stdout


def test_held_out_users_are_folded_in_and_ranked(evaluated):
    _, report, stdout = evaluated
    assert report["split"] == "users" and "left out of training" in report["protocol"]
    # measured 2026-11-22: 3,412 users (20% of those with >= 3 songs), 5,416 held-out songs
    assert report["test_users"] == 3412 and report["test_pairs"] == 5416
    recall = {name: scores["recall@10"] for name, scores in report["models"].items()}
    # measured 2026-11-23: popularity 0.032, cooccurrence 0.165, item2vec 0.168, als 0.178, ease 0.187, user kNN
    # 0.166, blend 0.200, implicit's defaults 0.119; ALS at 0.178 shows the fold-in works (unfolded users would
    # score like popularity or worse)
    assert recall["als"] > 0.16 and recall["blend"] > recall["als"]
    assert all(recall[name] > 4 * recall["popularity"] for name in PERSONALISED)
    assert recall["popularity"] < recall["implicit_direct"] < recall["als"]
    assert "implicit_direct" in stdout and "reports:" in stdout


def test_the_rankers_labels_are_held_out_users_as_the_test_is(evaluated):
    """The trees learn the task they are scored on: their labels are carved as this split carves its test (20%
    of the training part's eligible users left out, their items predicted from the rest, ALS folded in), not next
    items. Measured 2026-12-03: 2,648 labelled users; ranker against blend 0.2029 / 0.2002 and 0.1886 / 0.2011
    in two runs of this job (item2vec's threads move both; a third was above 0.97x); taught next items instead,
    trees ranked MovieLens's held-out users at 0.44x the blend (0.091 against 0.206)."""
    _, report, _ = evaluated
    assert 2000 < report["ranker"]["users"] < 3500  # next items would label every eligible playlist, ~13k
    recall = {name: scores["recall@10"] for name, scores in report["models"].items()}
    assert recall["ranker"] > 0.85 * recall["blend"]


def test_every_metric_and_curve_is_reported(evaluated):
    _, report, _ = evaluated
    for name, scores in report["models"].items():
        assert set(scores) >= {"recall@10", "recall_normalized@10", "ndcg@10", "map@10", "mrr@10", "r_precision"}
        # yes names every song's artist, so the challenge's artist credit is there and only ever adds
        assert scores["r_precision_artists"] >= scores["r_precision"], name
        assert 0.0 <= scores["clicks"] <= 11.0, name  # pages of 10 through a 100-long list; a miss costs 11
        curve = np.array(report["recall_curve"][name])
        assert len(curve) == report["depth"] == 100 and np.all(np.diff(curve) >= -1e-12), name
        assert curve[9] == pytest.approx(scores["recall@10"]), name
    for name in PERSONALISED:  # measured 2026-11-23: +8% (user kNN) to +14% (item2vec)
        assert report["models"][name]["r_precision_artists"] > 1.05 * report["models"][name]["r_precision"], name
    assert report["config"]["evaluation"]["split"] == "users" and report["seed"] == 42
    assert report["input"]["fingerprint"] and report["version"]


def test_the_reports_and_rejects_are_written_and_nothing_else(evaluated):
    out, _, _ = evaluated
    names = {p.name for p in out.iterdir()}
    expected = {"report.json", "report.md", "report.html", "recall_at_k.png", "coverage.png", "popularity.png"}
    assert names == expected | {"rejects"}
    assert len(re.findall("data:image/png;base64,", (out / "report.html").read_text())) == 3
    assert not list(out.parent.glob(".*staging*"))


def test_a_failed_run_leaves_the_previous_reports(evaluated):
    out, report, _ = evaluated
    job = run_job("evaluate.py", "--input", str(out / "missing"), "--format", "long", "--output", str(out))
    assert job.returncode == 2 and f"input {out / 'missing'} does not exist" in job.stdout + job.stderr
    assert json.loads((out / "report.json").read_text()) == report
    assert not list(out.parent.glob(".*staging*"))


def test_the_builds_evaluation_is_the_evaluate_jobs_to_the_digit_with_one_item2vec_thread(tmp_path):
    """The same log and seed through jobs/build_embeddings.py and jobs/evaluate.py: every model's every number
    equal where item2vec trains on one thread. With its default two threads gensim's runs differ (by how much:
    docs/EVALUATION.md), which was why the two commands seemed to disagree."""
    from recsys.synth import SynthConfig, generate

    generate(SynthConfig(playlists=800, tracks=200, clusters=4, seed=5)).clicks.write_csv(tmp_path / "clicks.csv")
    inputs = ("--input", str(tmp_path / "clicks.csv"), "--format", "long")
    one_thread = ("--set", "item2vec.workers=1", "--set", "item2vec.epochs=10")
    build = run_job("build_embeddings.py", *inputs, "--output", str(tmp_path / "artifacts"), *one_thread)
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    evaluate = run_job("evaluate.py", *inputs, "--split", "last", "--output", str(tmp_path / "report"), *one_thread)
    assert evaluate.returncode == 0, (evaluate.stdout + evaluate.stderr)[-3000:]
    built = json.loads(next((tmp_path / "artifacts" / "default").glob("2*/report.json")).read_text())
    alone = json.loads((tmp_path / "report" / "report.json").read_text())
    assert built["split"] == alone["split"] == "last" and built["test_pairs"] == alone["test_pairs"] > 0
    assert built["models"] == alone["models"]
