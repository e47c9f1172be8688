"""One evaluation over several seeded splits: the summary's arithmetic, and jobs/evaluate.py --seeds' work run on a
real Spark session (evaluate_log, as the job calls it)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.evaluation.repeated import markdown, summarize
from recsys.settings import Settings


def split_report(seed: int, recall: dict[str, float]) -> dict:
    models = {name: {"recall@10": value, "ndcg@10": value / 2} for name, value in recall.items()}
    return {"seed": seed, "k": 10, "protocol": "last 1 item(s)", "test_users": 1000 + seed, "models": models}


REPORTS = [
    split_report(1, {"als": 0.20, "cooccurrence": 0.18, "blend": 0.22}),
    split_report(2, {"als": 0.19, "cooccurrence": 0.20, "blend": 0.21}),  # co-occurrence is this split's best
    split_report(3, {"als": 0.21, "cooccurrence": 0.17, "blend": 0.24}),
]


def test_the_summary_pairs_each_split_with_its_own_best_baseline():
    summary = summarize(REPORTS, ["als", "cooccurrence"])
    assert summary["seeds"] == [1, 2, 3] and summary["test_users"] == [1001, 1002, 1003]
    blend = summary["models"]["blend"]
    assert blend["per_split"] == [0.22, 0.21, 0.24]
    assert blend["recall@10"]["mean"] == pytest.approx(0.67 / 3)
    # sample standard deviation of 0.22, 0.21, 0.24 is 0.01528; over sqrt(3)
    assert blend["recall@10"]["se"] == pytest.approx(0.0152753 / math.sqrt(3), rel=1e-4)
    assert (blend["recall@10"]["min"], blend["recall@10"]["max"]) == (0.21, 0.24)
    gains = [0.22 / 0.20 - 1, 0.21 / 0.20 - 1, 0.24 / 0.21 - 1]  # split 2 against co-occurrence, not ALS
    assert blend["gain_over_best_baseline"]["mean"] == pytest.approx(sum(gains) / 3)
    assert blend["gain_over_best_baseline"]["min"] == pytest.approx(0.05)
    assert summary["models"]["als"]["gain_over_best_baseline"]["min"] == pytest.approx(0.19 / 0.20 - 1)
    table = markdown(summary, "clicks.csv")
    # gains 10%, 5% and 14.3%: mean 9.8%, sample standard deviation 4.65%, over sqrt(3) 2.7%
    assert "| blend | 0.2233 | 0.0088 | 0.2100 | 0.2400 | +9.8% ± 2.7% (+5.0%, +14.3%) |" in table
    assert "best of als or cooccurrence" in table


def test_a_baseline_that_was_not_evaluated_is_named_and_one_that_scored_nothing_gives_no_gain():
    with pytest.raises(ValueError, match=r"\['ease'\] are not among the evaluated models"):
        summarize(REPORTS, ["als", "ease"])
    nothing = [split_report(1, {"als": 0.0, "blend": 0.1}), split_report(2, {"als": 0.1, "blend": 0.2})]
    blend = summarize(nothing, ["als"])["models"]["blend"]
    assert math.isnan(blend["gain_over_best_baseline"]["mean"]) and blend["recall@10"]["mean"] == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--seeds", "1", "1"], "argument --seeds: each seed once (got 1 1)"),
        (["--baselines", "als"], "argument --baselines: only a summary of two or more --seeds"),
        (["--seeds", "1", "--baselines", "als"], "argument --baselines: only a summary of two or more --seeds"),
    ],
)
def test_the_job_refuses_seeds_and_baselines_it_could_not_honour(arguments, error):
    job = subprocess.run(
        [sys.executable, "jobs/evaluate.py", "--input", "x", "--format", "long", "--output", "y", *arguments],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert job.returncode == 2 and error in job.stderr


@pytest.mark.spark
def test_several_seeds_give_one_report_per_split_and_their_summary(spark, tmp_path):
    from recsys.evaluation.job import evaluate_log
    from recsys.io import InputSpec
    from recsys.synth import SynthConfig, generate

    log = tmp_path / "clicks.csv"
    clicks = generate(SynthConfig(playlists=600, tracks=120, clusters=4, seed=3)).clicks
    clicks.write_csv(log)
    settings = Settings(item2vec={"epochs": 5}, als={"iterations": 3})
    out = tmp_path / "reports"
    summary = evaluate_log(spark, InputSpec(str(log), "long"), settings, out, seeds=[1, 2])
    assert {p.name for p in out.iterdir()} == {"summary.json", "summary.md", "seed-1", "seed-2", "rejects"}
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    splits = [json.loads((out / f"seed-{seed}" / "report.json").read_text()) for seed in (1, 2)]
    assert [split["seed"] for split in splits] == [1, 2] == summary["seeds"]
    for name, values in summary["models"].items():
        assert values["per_split"] == [split["models"][name]["recall@10"] for split in splits]
    # two seeds hold out different playlists' last items: the splits' scores differ
    assert splits[0]["models"]["als"]["recall@10"] != splits[1]["models"]["als"]["recall@10"]
    assert summary["counts"]["interactions"] == len(clicks) and summary["input"]["path"] == str(log)
    assert "| blend |" in (out / "summary.md").read_text()
