"""One evaluation repeated over several seeded splits, summarised: is a difference the models' or one split's?

A single split of yes_small holds out ~3,400 songs, so recall@10 near 0.2 carries a standard error of ~0.007 and
the gap between two models moves by several percent from one seed to the next. The summary gives each model's
mean, standard error and range over the splits, and its gain over each split's best baseline (paired: the same
split for both), which is what a claim like "10% better than ALS" needs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

BASELINES = ("als", "cooccurrence")  # the best single models, which the blend is meant to beat by 10%


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard error of the mean (0 for one value), min and max; NaN if any value is."""
    array = np.asarray(values, dtype=np.float64)
    se = array.std(ddof=1) / math.sqrt(len(array)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "se": float(se), "min": float(array.min()), "max": float(array.max())}


def gain(score: float, baseline: float) -> float:
    """Relative gain over the baseline; NaN where the baselines scored 0 (a log too small to say anything)."""
    return score / baseline - 1 if baseline > 0 else math.nan


def check_baselines(report: dict[str, Any], baselines: list[str]) -> None:
    """ValueError naming the ``baselines`` the report has no model of (checked after the first split, not the last)."""
    missing = [name for name in baselines if name not in report["models"]]
    if missing:
        raise ValueError(f"baselines {missing} are not among the evaluated models {list(report['models'])}")


def summarize(reports: list[dict[str, Any]], baselines: list[str]) -> dict[str, Any]:
    """recall@k of every model over the splits of ``reports`` (one per seed), and each model's relative gain over
    the best of ``baselines`` in the same split."""
    check_baselines(reports[0], baselines)
    metric = f"recall@{reports[0]['k']}"
    per_split = [{name: values[metric] for name, values in report["models"].items()} for report in reports]
    best_baseline = [max(split[name] for name in baselines) for split in per_split]
    return {
        "metric": metric,
        "protocol": reports[0]["protocol"],
        "seeds": [report["seed"] for report in reports],
        "test_users": [report["test_users"] for report in reports],
        "baselines": baselines,
        "models": {
            name: {
                metric: spread([split[name] for split in per_split]),
                "gain_over_best_baseline": spread(
                    [gain(split[name], best) for split, best in zip(per_split, best_baseline, strict=True)]
                ),
                "per_split": [split[name] for split in per_split],
            }
            for name in per_split[0]
        },
    }


def markdown(summary: dict[str, Any], dataset: str) -> str:
    metric, baselines = summary["metric"], " or ".join(summary["baselines"])
    lines = [
        "# Evaluation over several splits",
        "",
        f"- dataset: {dataset}",
        f"- split: {summary['protocol']}",
        f"- seeds: {', '.join(map(str, summary['seeds']))} (each split's own report: seed-N/)",
        f"- test users per split: {', '.join(f'{n:,}' for n in summary['test_users'])}",
        "",
        f"| model | {metric} mean | standard error | min | max | over the best of {baselines}: mean ± SE (min, max) |",
        "|---|---|---|---|---|---|",
    ]
    for name, values in summary["models"].items():
        score, over = values[metric], values["gain_over_best_baseline"]
        lines.append(
            f"| {name} | {score['mean']:.4f} | {score['se']:.4f} | {score['min']:.4f} | {score['max']:.4f} "
            f"| {over['mean']:+.1%} ± {over['se']:.1%} ({over['min']:+.1%}, {over['max']:+.1%}) |"
        )
    lines += ["", "Gains are paired: each split's model against that split's best baseline; ± one standard error.", ""]
    return "\n".join(lines)


def write_summary(summary: dict[str, Any], dataset: str, folder: Path) -> None:
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    (folder / "summary.md").write_text(markdown(summary, dataset))
