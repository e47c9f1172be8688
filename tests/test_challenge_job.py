"""jobs/challenge.py: a challenge set in, a submission out that keeps every rule and finds the held-out tracks."""

import gzip
import json
import subprocess
import sys
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from recsys.challenge import read_challenge_set
from recsys.synth.mpd import write_challenge
from tests.conftest import NAMED_CONFIG, run_job

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def challenge(named):
    """Ten playlists per category, from the named bundle's catalogue (longer playlists than its training ones,
    so that the categories with 100 seeds find some): (challenge set, held-out URIs by pid)."""
    folder, _ = named
    config = replace(NAMED_CONFIG, mean_length=66, max_length=250)
    write_challenge(config, 10, folder / "challenge.json", folder / "holdouts.json")
    held = {int(pid): uris for pid, uris in json.loads((folder / "holdouts.json").read_text()).items()}
    return folder / "challenge.json", held


def _job(bundle, challenge_set, output, *extra: str):
    root, name = bundle.parent.parent, bundle.parent.name
    common = ["--artifacts", str(root), "--name", name, "--challenge-set", str(challenge_set)]
    return run_job("challenge.py", *common, "--output", str(output), *extra, timeout=300)


def _submission(path) -> tuple[list[str], dict[int, list[str]]]:
    with gzip.open(path, "rt") as lines:
        rows = [line.strip().split(",") for line in lines]
    return rows[0], {int(row[0]): row[1:] for row in rows[1:]}


def _r_precision(lists: dict[int, list[str]], held: dict[int, list[str]]) -> float:
    return float(np.mean([len(set(lists[pid][: len(uris)]) & set(uris)) / len(uris) for pid, uris in held.items()]))


def test_a_submission_keeps_the_rules_and_finds_held_out_tracks(named, challenge, tmp_path):
    """Measured 2026-12-02 on this synthetic set: R-precision 0.461 against popularity's 0.120 (3.8x); a check of
    the machinery on planted taste clusters, not a claim about the real challenge."""
    folder, bundle = named
    challenge_set, held = challenge
    output = tmp_path / "submission.csv.gz"
    job = _job(bundle, challenge_set, output, "--team", "recsys", "--email", "team@example.com")
    assert job.returncode == 0, job.stderr[-3000:]
    summary = json.loads(job.stdout.strip().splitlines()[-1])
    assert summary["playlists"] == 100 and summary["valid_submission"] and summary["seeds_not_in_catalogue"] == 0
    assert not list(tmp_path.glob(".partial-*"))  # moved into place, nothing left beside it

    team_info, lists = _submission(output)  # gzipped, as the name asks
    assert team_info == ["team_info", "recsys", "main", "team@example.com"]
    playlists = read_challenge_set(challenge_set)
    assert sorted(lists) == sorted(p.pid for p in playlists)
    for playlist in playlists:  # the rules, restated (recsys/challenge.py checks them too, before the rename)
        answer = lists[playlist.pid]
        assert len(answer) == 500 and len(set(answer)) == 500 and not set(answer) & set(playlist.seeds)
        assert all(uri.startswith("spotify:track:") and len(uri) == 36 for uri in answer)

    popular = Counter()
    for path in (folder / "slices").iterdir():
        for playlist in json.loads(path.read_text())["playlists"]:
            popular.update({track["track_uri"] for track in playlist["tracks"]})
    by_popularity = {
        p.pid: [uri for uri, _ in popular.most_common() if uri not in set(p.seeds)][:500] for p in playlists
    }
    ours, baseline = _r_precision(lists, held), _r_precision(by_popularity, held)
    assert ours >= 3 * baseline, (ours, baseline)
    title_only = {p.pid: held[p.pid] for p in playlists if not p.seeds}
    assert _r_precision(lists, title_only) >= 2 * _r_precision(by_popularity, title_only)

    # the try-out's own scoring command says the same, overall and per category
    scored = subprocess.run(
        [sys.executable, "-m", "recsys.evaluation.submission", str(output), "--challenge-set", str(challenge_set),
         "--holdouts", str(folder / "holdouts.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    rows = {row[0]: row[1:] for row in (line.strip("| ").split(" | ") for line in scored.stdout.splitlines()[2:])}
    assert len(rows) == 11 and rows["all"][0] == "100" and rows["title only"][0] == "10"
    assert float(rows["all"][1]) == pytest.approx(ours, abs=1e-4)
    assert float(rows["title only"][1]) == pytest.approx(_r_precision(lists, title_only), abs=1e-4)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--k", "5000"], "too few for --k 5000"),
        (["--team", "a,b"], "--team 'a,b': must be non-empty, without commas"),
        (["--challenge-set", "/nonexistent/challenge.json"], "No such file"),
    ],
)
def test_mistakes_end_in_one_line_and_status_2(named, challenge, tmp_path, extra, message):
    _, bundle = named
    challenge_set, _ = challenge
    output = tmp_path / "submission.csv"
    args = ["--team", "recsys", "--email", "team@example.com", *extra]
    job = _job(bundle, challenge_set, output, *args)
    said = job.stdout + job.stderr  # spark-submit merges them, among its own warnings
    assert job.returncode == 2, said[-2000:]
    assert any(line.startswith("challenge.py: error:") and message in line for line in said.splitlines()), said
    assert "Traceback" not in said and not output.exists()


def test_a_bundle_not_built_from_the_mpd_is_refused_by_name(built, challenge, tmp_path):
    folder, _ = built
    challenge_set, _ = challenge
    common = ["--artifacts", str(folder / "artifacts"), "--name", "e2e", "--challenge-set", str(challenge_set)]
    job = run_job("challenge.py", *common, "--output", str(tmp_path / "s.csv"), "--team", "t", "--email", "e@x.y")
    said = job.stdout + job.stderr
    assert job.returncode == 2 and "not spotify:track: URIs" in said and "Traceback" not in said, said[-2000:]
