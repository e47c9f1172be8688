"""Kill the build job at random points and check that nothing half-written ever becomes live.

    python bench/kill_build.py --trials 20 [--record]

One complete build first (LATEST must exist and its duration sets the range of kill points), then each trial starts
the same build and SIGKILLs its whole process group (spark-submit, the JVM, the Python driver and workers: what an
OOM killer or a lost machine does) at a uniformly random moment in [0, 1.1 x the complete build's time], so some
trials finish. After every trial: LATEST names a version whose checksums verify, and every version folder under
the bundle home is complete. Then one rerun without any cleanup must succeed, and `python -m recsys.artifacts
clean` must leave no partial folder. Results go to stdout and, with --record, to docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from timing import record

from recsys.artifacts import LATEST, MANIFEST, STAGING_PREFIX, BundleError, resolve, verify
from recsys.artifacts import main as artifacts_main

REPO = Path(__file__).resolve().parent.parent
RELIABILITY = REPO / "docs" / "RELIABILITY.md"
NAME = "killed"


def build_command(clicks: Path, items: Path, output: Path) -> list[str]:
    spark_submit = str(Path(sys.executable).parent / "spark-submit")
    log4j = f"-Dlog4j2.configurationFile={REPO / 'conf' / 'log4j2.properties'}"
    return [spark_submit, "--driver-java-options", log4j, str(REPO / "jobs" / "build_embeddings.py"),
            "--input", str(clicks), "--items", str(items), "--format", "long", "--output", str(output),
            "--name", NAME]  # fmt: skip


def run_build(command: list[str], log: Path, kill_after: float | None) -> tuple[str, float]:
    """Run the build in its own process group; kill the group after ``kill_after`` seconds (None: let it finish).
    Returns how it ended and when."""
    start = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return "killed", time.monotonic() - start
    return f"exit {process.returncode}", time.monotonic() - start


def last_stage(log: Path) -> str:
    """The last step the job's log announced ("... ..." start lines of recsys.stages.stage)."""
    starts = [line.split(": ", 1)[-1].rstrip(". \n") for line in log.open() if line.rstrip().endswith("...")]
    return starts[-1] if starts else "before the first stage"


def check_home(home: Path) -> tuple[str, int]:
    """LATEST's version verifies and every version folder is complete; returns LATEST's version and the number
    of partial (staging) folders present. Raises BundleError on any broken promise."""
    folder = resolve(home.parent, home.name)
    verify(folder)
    for version in home.iterdir():
        if version.is_dir() and not version.name.startswith(".") and not (version / MANIFEST).is_file():
            raise BundleError(f"{version} is a version folder without a manifest")
    return folder.name, len(list(home.glob(f"{STAGING_PREFIX}*")))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path("/tmp/recsys-kill"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="append the results to docs/RELIABILITY.md")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    args.work.mkdir(parents=True, exist_ok=True)
    clicks, items, output = args.work / "clicks.csv", args.work / "tracks.csv", args.work / "artifacts"
    if not clicks.exists():
        subprocess.run([sys.executable, "-m", "recsys.synth", "--playlists", "4000", "--tracks", "800", "--clusters",
                        "8", "--out", str(clicks), "--items", str(items)], check=True, cwd=REPO)  # fmt: skip
    command = build_command(clicks, items, output)
    home = output / NAME

    ended, full = run_build(command, args.work / "first.log", None)
    if ended != "exit 0":
        raise SystemExit(f"the first build failed ({ended}); see {args.work / 'first.log'}")
    rows, failures = [], 0
    for trial in range(1, args.trials + 1):
        log = args.work / f"trial-{trial}.log"
        ended, at = run_build(command, log, rng.uniform(0, 1.1 * full))
        try:
            latest, partial = check_home(home)
            verdict = "ok"
        except BundleError as error:
            latest, partial, verdict = "-", -1, f"BROKEN: {error}"
            failures += 1
        rows.append(f"| {trial} | {at:.1f} | {ended} | {last_stage(log)} | {latest} | {partial} | {verdict} |")
        print(rows[-1], flush=True)

    before = check_home(home)[0]
    ended, _ = run_build(command, args.work / "rerun.log", None)
    after, partial_after_rerun = check_home(home)
    rerun_ok = ended == "exit 0" and after != before
    artifacts_main(["clean", str(output)])
    partial_after_clean = len(list(home.glob(f"{STAGING_PREFIX}*"))) + len(list(home.glob(f".{LATEST}.tmp-*")))
    failures += (not rerun_ok) + (partial_after_clean != 0)
    summary = (
        f"{args.trials} trials, kill points uniform in [0, {1.1 * full:.0f} s] (a complete build took {full:.0f} s); "
        f"broken promises: {failures}. Rerun without cleanup after the last trial: {ended}, LATEST {before} -> "
        f"{after}, {partial_after_rerun} partial folder(s) left beside it (the rerun sweeps those of dead jobs on "
        f"this host); after `python -m recsys.artifacts clean`: {partial_after_clean}."
    )
    table = "\n".join(
        [
            "| trial | killed at (s) | ended | last stage started | LATEST after | partial folders | verdict |",
            "|---:|---:|---|---|---|---:|---|",
            *rows,
        ]
    )
    print(summary)
    if args.record:
        command_line = "python bench/kill_build.py " + " ".join(argv)
        record("Build killed at random points", command_line, "", f"{summary}\n\n{table}", RELIABILITY)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
