"""A challenge submission scored against the held-out tracks of its challenge set: the RecSys Challenge 2018's
R-precision, NDCG@500 and clicks, over all playlists and per category, computed by the metric functions the
challenge split reports with (`jobs/evaluate.py --split challenge`, recsys/evaluation/challenge.py).

python -m recsys.evaluation.submission SUBMISSION --challenge-set CHALLENGE.json [--holdouts HOLDOUTS.json]

The held-out tracks are a JSON object ``{"pid": [track URI, ...]}``, as ``python -m recsys.synth --challenge``
writes them beside its challenge set (CHALLENGE.holdouts.json, the default). The submission must pass every rule
jobs/challenge.py checks (recsys/challenge.py) before it is scored. R-precision counts tracks only: the artist
credit needs the held-out tracks' artists, which the held-out file does not carry.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from recsys import metrics as M
from recsys.challenge import (
    CATEGORIES,
    LIST_LENGTH,
    ChallengePlaylist,
    answer_lines,
    category_label,
    check_submission,
    read_challenge_set,
)

#: The row every playlist's scores are also summed up in.
ALL = "all"


def read_holdouts(path: Path) -> dict[int, list[str]]:
    """{pid: held-out track URIs}; ValueError naming the file where it is not such an object."""
    try:
        document = json.loads(Path(path).read_text())
        return {int(pid): [str(uri) for uri in uris] for pid, uris in document.items()}
    except (OSError, json.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f'{path}: not held-out tracks ({{"pid": [track URI, ...]}}): {exc}') from None


def score(
    answers: dict[int, list[str]], challenge: list[ChallengePlaylist], holdouts: dict[int, list[str]]
) -> dict[str, dict[str, float]]:
    """Per category (and ALL): playlists, r_precision, ndcg@500 and clicks, as the challenge split reports them."""
    missing = [playlist.pid for playlist in challenge if playlist.pid not in holdouts]
    if missing:
        raise ValueError(
            f"the held-out tracks lack {len(missing)} playlists of the challenge set, e.g. pid {missing[0]}"
        )
    vocabulary: dict[str, int] = {}

    def ids(uris: list[str]) -> np.ndarray:
        return np.array([vocabulary.setdefault(uri, len(vocabulary)) for uri in uris], dtype=np.int64)

    recommended = np.stack([ids(answers[playlist.pid]) for playlist in challenge])
    relevant = [ids(holdouts[playlist.pid]) for playlist in challenge]
    category = np.array([playlist.category for playlist in challenge])
    order = [category_label(*c) for c in CATEGORIES] + [ALL]
    scores = {}
    for name in order:
        rows = np.arange(len(challenge)) if name == ALL else np.flatnonzero(category == name)
        if not len(rows):
            continue
        picked = [relevant[r] for r in rows]
        scores[name] = {
            "playlists": float(len(rows)),
            "r_precision": M.r_precision(recommended[rows], picked),
            f"ndcg@{LIST_LENGTH}": M.ndcg_at_k(recommended[rows], picked, LIST_LENGTH),
            "clicks": M.clicks(recommended[rows], picked),
        }
    return scores


def table(scores: dict[str, dict[str, float]]) -> str:
    """The scores as a Markdown table, a category a row."""
    header = ["category", "playlists", "r_precision", f"ndcg@{LIST_LENGTH}", "clicks"]
    rows = [
        [name, f"{s['playlists']:.0f}", *(f"{s[m]:.4f}" for m in header[2:4]), f"{s['clicks']:.2f}"]
        for name, s in scores.items()
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in [header, ["---"] * len(header), *rows])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recsys.evaluation.submission", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("submission", type=Path, help="the submission file jobs/challenge.py wrote (.csv or .csv.gz)")
    parser.add_argument("--challenge-set", required=True, type=Path, help="the challenge set it answers")
    parser.add_argument("--holdouts", type=Path, help="held-out tracks (default: CHALLENGE.holdouts.json beside it)")
    args = parser.parse_args(argv)
    holdouts_path = args.holdouts or args.challenge_set.with_suffix(".holdouts.json")
    for path in (args.submission, args.challenge_set, holdouts_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist")
    challenge = read_challenge_set(args.challenge_set)
    problems = check_submission(args.submission, challenge)
    if problems:
        raise ValueError(f"{args.submission} breaks {len(problems)} submission rule(s), first: {problems[0]}")
    answers = {int(fields[0]): fields[1:] for fields in answer_lines(args.submission)}
    print(table(score(answers, challenge, read_holdouts(holdouts_path))))
    return 0


if __name__ == "__main__":
    from recsys import commands

    sys.exit(commands.run("python -m recsys.evaluation.submission", main))
