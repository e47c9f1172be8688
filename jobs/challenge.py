"""spark-submit jobs/challenge.py --artifacts DIR [--name NAME] --challenge-set FILE --output FILE --team TEAM
    --email ADDRESS [--track main|creative] [--k 500]

Answers a RecSys Challenge 2018 challenge set from the live bundle DIR/NAME/LATEST (built from the Million Playlist
Dataset with --format mpd): every playlist is continued from its seed tracks and its title (recsys/continuation.py),
K tracks each, none of them a seed, and written in the organisers' submission format (gzipped where --output ends
in .gz). The file is checked against every submission rule before it is moved into place. Runs under spark-submit
or plain python; it needs no Spark session, only the bundle.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from recsys import commands
from recsys.artifacts import resolve
from recsys.bundle.reader import LoadedBundle
from recsys.challenge import (
    LIST_LENGTH,
    TRACK_URI,
    TRACKS,
    check_submission,
    check_team_info,
    read_challenge_set,
    write_submission,
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="challenge.py", description=__doc__.split("\n\n")[1])
    parser.add_argument("--artifacts", required=True, type=Path, help="artifact root the build job wrote")
    parser.add_argument("--name", default="default", help="bundle name (default: %(default)s)")
    parser.add_argument("--challenge-set", required=True, type=Path, help="the challenge set's JSON file")
    parser.add_argument("--output", required=True, type=Path, help="submission file to write (.csv or .csv.gz)")
    parser.add_argument("--team", required=True, help="team name for the team_info line")
    parser.add_argument("--email", required=True, help="contact address for the team_info line")
    parser.add_argument("--track", default="main", choices=TRACKS, help="challenge track (default: %(default)s)")
    parser.add_argument(
        "--k", type=int, default=LIST_LENGTH, help="tracks per playlist (default: %(default)s, what the rules ask)"
    )
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error("--k must be at least 1")
    check_team_info(args.team, args.email, args.track)
    playlists = read_challenge_set(args.challenge_set)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    start = time.perf_counter()
    bundle = LoadedBundle.load(resolve(args.artifacts, args.name))
    loaded = time.perf_counter()
    check_catalogue(bundle, args.k, max((len(p.seeds) for p in playlists), default=0))
    sequences = [np.array([bundle.item_index[t] for t in p.seeds if t in bundle.item_index]) for p in playlists]
    unknown = sum(len(p.seeds) for p in playlists) - sum(len(s) for s in sequences)
    ids = bundle.continue_playlists(sequences, [p.name for p in playlists], args.k)
    answered = time.perf_counter()
    staged = args.output.with_name(f".partial-{args.output.name}")  # the same suffix: gzipped alike
    answers = ((p.pid, [bundle.item_ids[i] for i in row]) for p, row in zip(playlists, ids.tolist(), strict=True))
    write_submission(staged, args.team, args.email, args.track, answers)
    problems = check_submission(staged, playlists, args.k)
    if problems:  # the job's own fault, not the user's: keep the file aside for a bug report
        print("challenge.py: the written file breaks the submission rules:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    os.replace(staged, args.output)
    summary = {
        "playlists": len(playlists),
        "named": sum(1 for p in playlists if p.name),
        "seed_tracks": sum(len(p.seeds) for p in playlists),
        "seeds_not_in_catalogue": unknown,
        "k": args.k,
        "output": str(args.output),
        "valid_submission": args.k == LIST_LENGTH,
        "load_s": round(loaded - start, 1),
        "answer_s": round(answered - loaded, 1),
        "playlists_per_s": round(len(playlists) / max(answered - loaded, 1e-9), 1),
    }
    print(json.dumps(summary))
    return 0


def check_catalogue(bundle: LoadedBundle, k: int, longest: int) -> None:
    """ValueError when the bundle cannot answer a submission: track ids that are not Spotify URIs, or too few
    tracks for k besides a playlist's seeds."""
    if bundle.item_ids and not TRACK_URI.fullmatch(bundle.item_ids[0]):
        raise ValueError(
            f"bundle {bundle.folder} lists items such as {bundle.item_ids[0]!r}, not spotify:track: URIs: "
            "build it from the Million Playlist Dataset (--format mpd)"
        )
    if len(bundle.item_ids) < k + longest:
        raise ValueError(
            f"bundle {bundle.folder} has {len(bundle.item_ids):,} tracks: too few for --k {k} besides a "
            f"playlist's {longest} seeds (use a smaller --k for an offline file, or a bundle of the full dataset)"
        )


if __name__ == "__main__":
    sys.exit(commands.run("challenge.py", main))
