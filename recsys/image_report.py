"""The image job's report: report.json (counts, rejects, duplicates, the head's metrics), report.md, and the
head's learning curve as learning_curve.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recsys.evaluation.report import plt  # the Agg backend, chosen once
from recsys.layout import REJECTS

LEARNING_CURVE = "learning_curve.png"


def headline(manifest: dict[str, Any]) -> list[str]:
    """What the job ends with on the console: how many files became images, why the others did not, and the head's
    accuracy or why there is none."""
    counts = manifest["counts"]
    reasons = "; ".join(f"{n:,} {reason}" for reason, n in manifest["rejects"].items())
    lines = [
        f"indexed {counts['images']:,} of {counts['files']:,} files ("
        f"{counts['identical_set_aside']:,} identical copies set aside); rejected {counts['rejects']:,}"
        + (f": {reasons}" if reasons else ""),
    ]
    if counts["rejects"] > counts["images"]:
        lines.append(f"warning: more files were rejected than indexed: see {REJECTS}/ in the bundle")
    head = manifest.get("head")
    if head:
        lines.append(f"head: accuracy {head['accuracy']:.3f} on {head['test_images']:,} held-out images")
    else:
        lines.append(f"no classifier head: {manifest.get('no_head')}")
    return lines


def write_image_report(folder: Path, summary: dict[str, Any]) -> None:
    (folder / "report.json").write_text(json.dumps(summary, indent=2))
    counts, head = summary["counts"], summary["head"]
    lines = [
        "# Image bundle",
        "",
        f"- backbone: {summary['backbone']['name']} ({summary['backbone']['dim']} dimensions)",
        f"- files {counts['files']:,}, indexed {counts['images']:,}, rejected {counts['rejects']:,}, "
        f"identical copies set aside {counts['identical_set_aside']:,}",
        *(f"- rejected, {reason}: {n}" for reason, n in summary["rejects"].items()),
        f"- near-duplicate pairs: {len(summary['near_duplicates'])}",
        "",
    ]
    if head:
        k = next(key for key in head if key.startswith("knn_precision@") and not key.endswith("_by_class"))
        lines += [
            "## Transfer-learning head (linear, on frozen features)",
            "",
            f"accuracy {head['accuracy']:.3f}, macro-F1 {head['macro_f1']:.3f} on {head['test_images']} held-out "
            f"images; {k} {head[k]:.3f} (retrieval by class, leave-one-out)",
            "",
            "| class | images | " + k + " |",
            "|---|---|---|",
            *(f"| {c} | {n} | {head[k + '_by_class'][c]:.3f} |" for c, n in head["class_balance"].items()),
            "",
            f"Learning curve: {LEARNING_CURVE}",
            "",
        ]
        figure, axes = plt.subplots(figsize=(6, 3.5))
        points = head["learning_curve"]
        axes.plot([p["train_images"] for p in points], [p["accuracy"] for p in points], marker="o")
        axes.set(xlabel="training images", ylabel="held-out accuracy", title="head learning curve", ylim=(0, 1))
        axes.grid(True, alpha=0.3)
        figure.savefig(folder / LEARNING_CURVE, dpi=110, bbox_inches="tight")
        plt.close(figure)
    (folder / "report.md").write_text("\n".join(lines))
