"""A full-size challenge set (10,000 playlists) answered from the MPD-scale bench bundle, timed step by step.

python bench/challenge.py [--work data/mpd] [--playlists 1000000] [--per-category 1000] [--record]

The bundle is bench/mpd.py's at that size (its synthetic log names tracks t0, t1, ... and playlists have no
names). The challenge set is written by recsys.synth.mpd.write_challenge from the same generator settings, so its
playlists are new ones from the same taste model, ten categories of ``--per-category`` each, with track URIs that
stand for the bundle's ids (``uri("track", n)`` for ``tn``). The steps are jobs/challenge.py's: load the bundle,
continue every playlist (recsys/continuation.py: ALS fold-in, item2vec next song, co-occurrence and user kNN from
the seeds; the title model where a bundle has one: this one has none, so title-only playlists get the popular
tracks), write the gzipped submission and check it against every rule. R-precision against the held-out tracks
is reported per category, beside popularity's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mpd import synth_args
from timing import record

from recsys.artifacts import resolve
from recsys.bundle.reader import LoadedBundle
from recsys.challenge import CATEGORIES, category_label, check_submission, read_challenge_set, write_submission
from recsys.synth import SynthConfig
from recsys.synth.mpd import uri, write_challenge

REPO = Path(__file__).resolve().parent.parent


def config_of(playlists: int) -> SynthConfig:
    """The generator settings bench/mpd.py built that size from."""
    flags = dict(zip(synth_args(playlists)[::2], synth_args(playlists)[1::2], strict=True))
    return SynthConfig(
        playlists=playlists,
        tracks=int(flags["--tracks"]),
        clusters=int(flags["--clusters"]),
        mean_length=int(flags["--mean-length"]),
        max_length=int(flags["--max-length"]),
        seed=int(flags["--seed"]),
    )


def r_precision(lists: list[list[str]], held: list[list[str]]) -> np.ndarray:
    return np.array([len(set(top[: len(h)]) & set(h)) / len(h) for top, h in zip(lists, held, strict=True)])


def run(work: Path, playlists: int, per_category: int) -> dict:
    config = config_of(playlists)
    bundle_root = work / f"artifacts-{playlists}"
    with tempfile.TemporaryDirectory() as scratch:
        challenge_path, holdouts_path = Path(scratch) / "challenge.json", Path(scratch) / "holdouts.json"
        start = time.perf_counter()
        write_challenge(config, per_category, challenge_path, holdouts_path)
        challenge = read_challenge_set(challenge_path)
        held = json.loads(holdouts_path.read_text())
        timings = {"write the challenge set": time.perf_counter() - start}

        start = time.perf_counter()
        bundle = LoadedBundle.load(resolve(bundle_root, "mpd"))
        timings["load the bundle"] = time.perf_counter() - start
        uri_of = [uri("track", int(item[1:]), config.seed) for item in bundle.item_ids]
        index_of = {u: i for i, u in enumerate(uri_of)}

        start = time.perf_counter()
        sequences = [np.array([index_of[t] for t in p.seeds if t in index_of], dtype=np.int64) for p in challenge]
        ids = bundle.continue_playlists(sequences, [p.name for p in challenge], 500)
        timings["continue 10,000 playlists" if len(challenge) == 10_000 else "continue the playlists"] = (
            time.perf_counter() - start
        )
        lists = [[uri_of[i] for i in row] for row in ids.tolist()]

        start = time.perf_counter()
        submission = Path(scratch) / "submission.csv.gz"
        write_submission(
            submission, "bench", "bench@example.com", "main", zip([p.pid for p in challenge], lists, strict=True)
        )
        problems = check_submission(submission, challenge)
        timings["write and check the submission"] = time.perf_counter() - start

    answers = [held[str(p.pid)] for p in challenge]
    ours = r_precision(lists, answers)
    popular = [uri_of[i] for i in bundle.popular[:1000]]
    baseline = r_precision([[t for t in popular if t not in set(p.seeds)] for p in challenge], answers)
    per = len(challenge) // len(CATEGORIES)
    categories = {
        category_label(*category): (
            float(ours[c * per : (c + 1) * per].mean()),
            float(baseline[c * per : (c + 1) * per].mean()),
        )
        for c, category in enumerate(CATEGORIES)
    }
    return {
        "playlists": len(challenge),
        "seeds": sum(len(p.seeds) for p in challenge),
        "seeds_not_in_catalogue": sum(len(p.seeds) for p in challenge) - sum(len(s) for s in sequences),
        "timings": timings,
        "problems": problems,
        "r_precision": float(ours.mean()),
        "popularity": float(baseline.mean()),
        "categories": categories,
    }


def report(result: dict, playlists: int) -> str:
    lines = [
        f"A challenge set of {result['playlists']:,} playlists against the {playlists:,}-playlist bundle:",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {step} | {seconds:.1f} |" for step, seconds in result["timings"].items()),
        "",
        f"Seed tracks the bundle does not know (as the job does, left out): {result['seeds_not_in_catalogue']:,} of "
        f"{result['seeds']:,}. Submission rules broken: {len(result['problems'])}"
        + (f" (first: {result['problems'][0]})" if result["problems"] else ""),
        "",
        "| category | R-precision | popularity |",
        "|---|---:|---:|",
        *(f"| {name} | {ours:.3f} | {base:.3f} |" for name, (ours, base) in result["categories"].items()),
        f"| **all** | **{result['r_precision']:.3f}** | {result['popularity']:.3f} |",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=REPO / "data" / "mpd", help="bench/mpd.py's work folder")
    parser.add_argument("--playlists", type=int, default=1_000_000, help="the bench bundle's size")
    parser.add_argument("--per-category", type=int, default=1000, help="playlists per category (the real set: 1000)")
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    table = report(run(args.work, args.playlists, args.per_category), args.playlists)
    print(table)
    if args.record:
        record("A challenge set answered at MPD scale", "python bench/challenge.py " + " ".join(argv), "", table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
