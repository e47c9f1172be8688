"""The three report files, and report.html as a browser shows it (headless Chromium, where it is installed)."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from recsys.evaluation.report import CHARTS, write_reports

MODELS = ("popularity", "als")


def report():
    curve = {name: (np.linspace(0.01, 0.3, 100) * (i + 1)).tolist() for i, name in enumerate(MODELS)}
    metrics = {
        name: {"recall@10": curve[name][9], "ndcg@10": 0.05 * (i + 1), "coverage@10": 0.1, "popularity@10": 0.01}
        for i, name in enumerate(MODELS)
    }
    return {
        "split": "last",
        "protocol": "last 1 item(s) of 20% of playlists with >= 3 items held out",
        "seed": 42,
        "k": 10,
        "depth": 100,
        "test_users": 1234,
        "test_pairs": 1234,
        "models": metrics,
        "recall_curve": curve,
        "version": "20261122T000000Z-abcdef",
        "input": {"path": "clicks.csv"},
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    write_reports(report(), folder)
    return folder


def test_json_holds_every_number(written):
    assert json.loads((written / "report.json").read_text()) == report()


def test_markdown_tables_name_both_recalls_and_every_model(written):
    text = (written / "report.md").read_text()
    als = report()["models"]["als"]
    assert f"| als | {als['recall@10']:.4f} | 0.1000 | 0.1000 | 0.0100 |" in text
    assert "| model | recall@1 | recall@5 | recall@10 | recall@20 | recall@50 | recall@100 |" in text
    assert "recall_normalized@k = hits / min(k, |held-out|)" in text


def test_charts_are_real_pngs(written):
    for name in CHARTS:
        with Image.open(written / name) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200, name


def test_html_embeds_the_charts(written):
    page = (written / "report.html").read_text()
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', page)) == len(CHARTS)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)")
def test_headless_chromium_renders_every_chart(written, tmp_path):
    """A script appended to a copy of the page writes each image's decoded width into the DOM Chromium dumps:
    a chart that failed to decode has width 0."""
    probe = tmp_path / "probe.html"
    probe.write_text(
        (written / "report.html").read_text()
        + "<script>document.body.dataset.widths=[...document.images].map(i=>i.complete&&i.naturalWidth)"
        ".join(',')</script>"
    )
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    widths = re.search(r'data-widths="([^"]*)"', dom)
    assert widths, dom[-2000:]
    assert [w.isdigit() and int(w) > 300 for w in widths.group(1).split(",")] == [True] * len(CHARTS)
    assert dom.count("<td>als</td>") == 2  # the metrics table and the recall@k table
