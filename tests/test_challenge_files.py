"""The challenge set read as published, and a submission checked against each of the organisers' format rules."""

import gzip
import json

import numpy as np
import pytest

from recsys.challenge import ChallengePlaylist, check_submission, read_challenge_set, write_submission
from recsys.synth.mpd import uri

CATALOGUE = [uri("track", n, 0) for n in range(700)]
CHALLENGE = [
    ChallengePlaylist(pid=1000, name="chill", seeds=[], num_holdouts=20),
    ChallengePlaylist(pid=1001, name=None, seeds=CATALOGUE[:5], num_holdouts=30),
    ChallengePlaylist(pid=1002, name="rock", seeds=CATALOGUE[10:11], num_holdouts=12),
]


def answers() -> list[tuple[int, list[str]]]:
    """500 catalogue tracks per playlist, its seeds left out."""
    return [(p.pid, [t for t in CATALOGUE if t not in p.seeds][:500]) for p in CHALLENGE]


@pytest.mark.parametrize("name", ["submission.csv", "submission.csv.gz"])
def test_a_written_submission_keeps_every_rule(tmp_path, name):
    path = tmp_path / name
    write_submission(path, "recsys", "team@example.com", "main", answers())
    assert check_submission(path, CHALLENGE) == []
    opened = gzip.open(path, "rt") if name.endswith(".gz") else path.open()
    with opened as lines:
        assert next(lines) == "team_info,recsys,main,team@example.com\n"


def _lines(tmp_path, lines: list[str]):
    path = tmp_path / "submission.csv"
    path.write_text("\n".join(lines) + "\n")
    return check_submission(path, CHALLENGE)


def _rows() -> list[str]:
    return [f"{pid},{','.join(uris)}" for pid, uris in answers()]


def test_comments_blank_lines_and_spaces_around_commas_are_allowed(tmp_path):
    rows = _rows()
    rows[0] = rows[0].replace(",", " , ")
    assert _lines(tmp_path, ["# made by recsys", "", "team_info, recsys, creative, a@b.c", "", *rows]) == []


def _swap(line: int, old: str, new: str):
    """A change to the file: ``old`` replaced by ``new`` on one line."""
    return lambda rows: [*rows[:line], rows[line].replace(old, new), *rows[line + 1 :]]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda rows: rows[1:], "line 1: the first line must be team_info"),
        (lambda rows: ["team_info,recsys,both,a@b.c", *rows[1:]], "the first line must be team_info"),
        (lambda rows: rows[:-1], "1 playlists of the challenge set have no line, e.g. pid 1002"),
        (lambda rows: [*rows, rows[1]], "pid 1000 answered twice"),
        (lambda rows: [*rows, "99," + rows[1].split(",", 1)[1]], "pid 99 is not in the challenge set"),
        (lambda rows: [*rows[:1], rows[1].rsplit(",", 1)[0], *rows[2:]], "pid 1000 has 499 tracks, not 500"),
        (lambda rows: [*rows[:1], rows[1] + "," + CATALOGUE[0], *rows[2:]], "pid 1000 has 501 tracks"),
        (_swap(2, CATALOGUE[6], CATALOGUE[7]), "pid 1001 names a track twice"),
        (_swap(2, CATALOGUE[6], CATALOGUE[0]), "pid 1001 includes its seed track"),
        (_swap(3, CATALOGUE[0], "spotify:album:x"), "is not a spotify:track: URI"),
        (lambda rows: [*rows, "p7,x"], "'p7' is not a pid"),
        (lambda rows: [], "no team_info line"),
    ],
)  # fmt: skip
def test_each_broken_rule_is_named(tmp_path, change, problem):
    rows = ["team_info,recsys,main,team@example.com", *_rows()]
    found = _lines(tmp_path, change(rows))
    assert any(problem in line for line in found), found


def test_the_writer_refuses_what_would_break_the_first_line(tmp_path):
    with pytest.raises(ValueError, match="the challenge has main and creative"):
        write_submission(tmp_path / "s.csv", "recsys", "a@b.c", "both", [])
    with pytest.raises(ValueError, match="--team 'a,b'"):
        write_submission(tmp_path / "s.csv", "a,b", "a@b.c", "main", [])


def test_the_challenge_set_reads_as_published(tmp_path):
    path = tmp_path / "challenge_set.json"
    tracks = [{"pos": 1, "track_uri": CATALOGUE[1]}, {"pos": 0, "track_uri": CATALOGUE[0]}]
    path.write_text(json.dumps({"date": "x", "version": "v1", "playlists": [
        {"pid": 7, "name": "Chill", "num_holdouts": 3, "num_samples": 2, "num_tracks": 5, "tracks": tracks},
        {"pid": 8, "num_holdouts": 9, "num_samples": 0, "num_tracks": 9, "tracks": []},
    ]}))  # fmt: skip
    first, second = read_challenge_set(path)
    assert first == ChallengePlaylist(7, "Chill", [CATALOGUE[0], CATALOGUE[1]], 3)  # in playlist order
    assert second.name is None and second.seeds == []
    path.write_text('{"playlists": [{"pid": 1}]}')
    with pytest.raises(ValueError, match="not a challenge set"):
        read_challenge_set(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        read_challenge_set(path)


def test_a_submission_is_scored_per_category_against_its_held_out_tracks(tmp_path):
    """By hand: pid 1 (title only) finds its one held-out track at rank 12, pid 2 (first 1 seed) finds nothing."""
    from recsys.evaluation.submission import read_holdouts, score

    track = [f"spotify:track:{i:022d}" for i in range(600)]
    challenge_set = tmp_path / "challenge.json"
    challenge_set.write_text(json.dumps({"playlists": [
        {"pid": 1, "name": "a", "num_holdouts": 1, "tracks": []},
        {"pid": 2, "name": "b", "num_holdouts": 2, "tracks": [{"pos": 0, "track_uri": track[599]}]},
    ]}))  # fmt: skip
    (tmp_path / "holdouts.json").write_text(json.dumps({"1": [track[11]], "2": [track[598], track[597]]}))
    answers = {1: track[:500], 2: track[:500]}
    scores = score(answers, read_challenge_set(challenge_set), read_holdouts(tmp_path / "holdouts.json"))
    assert list(scores) == ["title only", "title + first 1", "all"]
    assert scores["title only"] == {"playlists": 1, "r_precision": 0.0, "ndcg@500": 1 / np.log2(13), "clicks": 1.0}
    assert scores["title + first 1"] == {"playlists": 1, "r_precision": 0.0, "ndcg@500": 0.0, "clicks": 51.0}
    assert scores["all"]["clicks"] == 26.0
