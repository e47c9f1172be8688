"""spark-submit jobs/evaluate.py --split challenge on MPD-shaped slices: the RecSys Challenge 2018's protocol, its
ten categories, each model continuing the held-out playlists 500 deep, reported per category."""

import json

import pytest

from recsys.challenge import CATEGORIES, category_label
from recsys.synth import SynthConfig
from recsys.synth.mpd import write_slices
from tests.conftest import run_job

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: MPD-shaped: mean 66 tracks (at most 250, long enough for the categories with 100 seeds), 2.2 tracks in the
#: catalogue per playlist, 20 taste clusters as the title model was tuned with (docs/models.md; other seeds).
CONFIG = SynthConfig(playlists=2000, tracks=4400, clusters=20, mean_length=66, max_length=250, seed=4)
SINGLE = ("als", "item2vec", "sequential", "cooccurrence", "user_knn")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("challenge")
    write_slices(CONFIG, folder / "slices")
    job = run_job(
        "evaluate.py",
        *("--input", str(folder / "slices"), "--format", "mpd", "--split", "challenge"),
        *(
            "--output",
            str(folder / "report"),
            "--set",
            "item2vec.epochs=5",
            "--set",
            "evaluation.holdout_fraction=0.25",
        ),
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    return folder / "report", json.loads((folder / "report" / "report.json").read_text())


def test_every_category_is_served_in_equal_shares(evaluated):
    _, report = evaluated
    assert report["split"] == "challenge" and report["depth"] == 500 and "ten categories" in report["protocol"]
    labels = [category_label(*category) for category in CATEGORIES]
    assert list(report["categories"]) == labels
    sizes = [report["categories"][label]["blend"]["playlists"] for label in labels]
    assert min(sizes) >= 0.8 * max(sizes) and sum(sizes) == report["test_users"]


def test_the_challenge_metrics_are_reported_for_every_model_and_category(evaluated):
    _, report = evaluated
    assert set(report["models"]) == {"popularity", *SINGLE, "ease", "title", "blend"}
    for model, scores in report["models"].items():
        assert 0.0 <= scores["clicks"] <= 51.0 and 0.0 <= scores["ndcg@500"] <= 1.0, model
        assert 0.0 <= scores["r_precision"] <= scores["r_precision_artists"] <= 1.0, model
    for label, models in report["categories"].items():
        for model, scores in models.items():
            assert {"r_precision", "r_precision_artists", "ndcg@500", "clicks"} <= set(scores), (label, model)


def test_the_title_answers_title_only_playlists_and_the_blend_leads(evaluated):
    """The issue's targets, measured 2026-12-03 on these slices (planted taste clusters, names drawn from them;
    docs/EVALUATION.md): title-only R-precision 0.260 for the title model against the popular tracks' 0.060
    (4.3x); overall 0.335 for the blend against popularity's 0.038 (8.8x) and the best single model's 0.315 (user
    kNN). A check of the machinery, not a claim about real titles."""
    _, report = evaluated
    title_only, models = report["categories"]["title only"], report["models"]
    assert title_only["title"]["r_precision"] >= 3 * title_only["popularity"]["r_precision"]
    # every other model has nothing to go on there: its list is the popular tracks
    assert title_only["als"]["r_precision"] == pytest.approx(title_only["popularity"]["r_precision"])
    assert models["blend"]["r_precision"] >= 3 * models["popularity"]["r_precision"]
    assert models["blend"]["r_precision"] >= max(models[m]["r_precision"] for m in SINGLE)


def test_the_reports_show_the_categories(evaluated):
    folder, _ = evaluated
    markdown = (folder / "report.md").read_text()
    assert "## r_precision per challenge category" in markdown and "| title + random 100 |" in markdown
    assert "ndcg@500 per challenge category</h2>" in (folder / "report.html").read_text()
