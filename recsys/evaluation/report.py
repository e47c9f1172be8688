"""An evaluation written three ways: report.json (every number), report.md (tables, for a terminal) and
report.html (tables and the charts as embedded PNG, one self-contained file), plus the charts as PNG files.

The report dict is what recsys.evaluation.protocol.run_evaluation returns: split, protocol, seed, k, depth, counts,
``models`` (metric -> value per model) and ``recall_curve`` (recall@1..depth per model).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path, PurePath
from typing import Any

import matplotlib

from recsys.layout import REPORT, REPORT_HTML

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # noqa: E402

#: The recall@k columns the Markdown and HTML tables show from each curve.
CURVE_POINTS = (1, 5, 10, 20, 50, 100)
#: Chart file names, in the order the HTML shows them.
CHARTS = ("recall_at_k.png", "coverage.png", "popularity.png")


def write_reports(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write report.json, report.md, report.html and the charts into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = render_charts(report)
    written = [folder / REPORT, folder / "report.md", folder / REPORT_HTML]
    written[0].write_text(json.dumps(report, indent=2))
    written[1].write_text(markdown(report))
    written[2].write_text(html_page(report, charts))
    for name, png in charts.items():
        (folder / name).write_bytes(png)
        written.append(folder / name)
    return written


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def render_charts(report: dict[str, Any]) -> dict[str, bytes]:
    """recall@k for k = 1..depth per model, catalogue coverage@k and popularity@k per model, as PNG bytes."""
    models, k = report["models"], report["k"]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, curve in report["recall_curve"].items():
        axes.plot(range(1, len(curve) + 1), curve, label=name)
    axes.set(xscale="log", xlabel="k (log scale)", ylabel="recall@k (hits / held-out)", title="recall@k")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    charts = {CHARTS[0]: _png(figure)}
    for chart, metric, label in (
        (CHARTS[1], f"coverage@{k}", "share of the catalogue in any top k"),
        (CHARTS[2], f"popularity@{k}", "mean share of training users holding a recommended item"),
    ):
        figure, axes = plt.subplots(figsize=(7, 3.5))
        names = list(models)
        axes.barh(names, [models[n][metric] for n in names])
        axes.invert_yaxis()
        axes.set(xlabel=label, title=metric)
        axes.grid(True, axis="x", alpha=0.3)
        charts[chart] = _png(figure)
    return charts


def _rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    """(metric columns, metric rows, recall@k columns, recall@k rows) as formatted strings, models as rows."""
    models = report["models"]
    metrics = list(next(iter(models.values())))
    rows = [[name, *(f"{values[m]:.4f}" for m in metrics)] for name, values in models.items()]
    points = [p for p in CURVE_POINTS if p <= report["depth"]]
    curve_rows = [[name, *(f"{curve[p - 1]:.4f}" for p in points)] for name, curve in report["recall_curve"].items()]
    return metrics, rows, [f"recall@{p}" for p in points], curve_rows


def _summary(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("dataset", PurePath(report.get("input", {}).get("path", "")).name),  # its base name: not the machine's paths
        ("split", f"{report['split']}: {report['protocol']}"),
        ("seed", str(report["seed"])),
        ("test users / held-out pairs", f"{report['test_users']:,} / {report['test_pairs']:,}" + _sampled(report)),
        ("version", str(report.get("version", ""))),
    ]


def _sampled(report: dict[str, Any]) -> str:
    held_out = report.get("held_out_users", report["test_users"])
    return f" (a seeded sample of {held_out:,} held-out users)" if held_out > report["test_users"] else ""


NOTES = (
    "recall@k = hits / |held-out|; recall_normalized@k = hits / min(k, |held-out|). "
    "r_precision and clicks are the RecSys Challenge 2018's, over each model's {depth} best (a miss costs "
    "{miss} clicks). popularity@k: mean share of training users holding the recommended items."
)


def category_tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The challenge split's per-category results: one (metric, header, rows) table per metric, categories as
    rows, models as columns; [] for the other splits."""
    categories = report.get("categories")
    if not categories:
        return []
    models = list(next(iter(categories.values())))
    metrics = [m for m in next(iter(next(iter(categories.values())).values())) if m != "playlists"]
    tables = []
    for metric in metrics:
        rows = [
            [label, f"{values[models[0]]['playlists']:,.0f}", *(f"{values[m][metric]:.4f}" for m in models)]
            for label, values in categories.items()
        ]
        tables.append((metric, ["category", "playlists", *models], rows))
    return tables


def markdown(report: dict[str, Any]) -> str:
    metrics, rows, points, curve_rows = _rows(report)

    def table(header: list[str], body: list[list[str]]) -> list[str]:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(row) + " |" for row in body]

    lines = ["# Evaluation", "", *(f"- {label}: {value}" for label, value in _summary(report)), ""]
    lines += [f"## Metrics at k = {report['k']}", "", *table(["model", *metrics], rows), ""]
    lines += ["## recall@k", "", *table(["model", *points], curve_rows), ""]
    for metric, header, body in category_tables(report):
        lines += [f"## {metric} per challenge category", "", *table(header, body), ""]
    lines += [NOTES.format(depth=report["depth"], miss=report["depth"] // 10 + 1), ""]
    lines += [f"Charts: {', '.join(CHARTS)} (also embedded in report.html)", ""]
    return "\n".join(lines)


def html_page(report: dict[str, Any], charts: dict[str, bytes]) -> str:
    metrics, rows, points, curve_rows = _rows(report)
    esc = html.escape

    def table(header: list[str], body: list[list[str]]) -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        cells = "".join(
            "<tr>" + "".join(f"<td{' align=right' * (i > 0)}>{esc(c)}</td>" for i, c in enumerate(row)) + "</tr>"
            for row in body
        )
        return (
            f"<table border=1 cellpadding=4 cellspacing=0><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
        )

    images = "".join(
        f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{esc(name)}</figcaption></figure>"
        for name, png in charts.items()
    )
    summary = "".join(f"<li><b>{esc(label)}</b>: {esc(value)}</li>" for label, value in _summary(report))
    return (
        # no <style> and no script: the service serves this file under its content security policy, which runs
        # nothing inline; the tables are laid out by HTML attributes
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Evaluation</title></head><body>"
        f"<h1>Evaluation</h1><ul>{summary}</ul>"
        f"<h2>Metrics at k = {report['k']}</h2>{table(['model', *metrics], rows)}"
        f"<h2>recall@k</h2>{table(['model', *points], curve_rows)}"
        + "".join(
            f"<h2>{esc(metric)} per challenge category</h2>{table(header, body)}"
            for metric, header, body in category_tables(report)
        )
        + f"<p>{esc(NOTES.format(depth=report['depth'], miss=report['depth'] // 10 + 1))}</p>"
        f"<h2>Charts</h2>{images}</body></html>\n"
    )
