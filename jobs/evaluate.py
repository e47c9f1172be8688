"""spark-submit jobs/evaluate.py --input PATH --format FORMAT --split SPLIT --output DIR [--seeds N ...] [--set k=v ...]

Splits the click log (seeded, in Spark), trains every model on the training part with the pipeline's own code,
plus implicit's ALS with its defaults as an external reference, ranks the held-out items and writes
report.json, report.md, report.html and the charts to DIR. With --seeds, does so once per seed (DIR/seed-N) and
summarises the splits in DIR/summary.md and summary.json. Builds no bundle.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recsys import cli, commands
from recsys.evaluation.job import evaluate_log
from recsys.evaluation.offline import format_table
from recsys.evaluation.repeated import BASELINES, markdown
from recsys.models.als import check_gpu_asked_for

SPLITS = ("last", "random", "users", "temporal", "challenge")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.split("\n\n")[1])
    cli.add_input_arguments(parser)
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="last",
        help="last: the last item(s) of each evaluated playlist; random: a share of each user's items; users: "
        "users left out of training, a share of their items predicted from the rest; temporal: everything after "
        "a time quantile (needs timestamps); challenge: held-out playlists in the RecSys Challenge 2018's ten "
        "categories, 500 tracks ranked from their seeds and titles, scored per category. Shares and seed: "
        "--set evaluation.* (default: %(default)s)",
    )
    parser.add_argument("--output", required=True, type=Path, help="folder for the reports (replaced when done)")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[],
        metavar="N",
        help="evaluate one split per seed and summarise them: each model's mean recall@k, its standard error and "
        "its gain over the best baseline, paired by split (default: the one split of evaluation.seed)",
    )
    parser.add_argument(
        "--baselines",
        nargs="+",
        metavar="MODEL",
        help="with two or more --seeds: the models whose best, split by split, the summary's gains are measured "
        f"against (default: {' '.join(BASELINES)})",
    )
    cli.add_settings_arguments(parser)
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < len(args.seeds):
        parser.error(f"argument --seeds: each seed once (got {' '.join(map(str, args.seeds))})")
    if args.baselines is not None and len(args.seeds) < 2:
        parser.error("argument --baselines: only a summary of two or more --seeds has baselines to measure against")
    args.baselines = args.baselines or list(BASELINES)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cli.configure_logging()
    settings = cli.settings_of(args, f"evaluation.split={args.split}")
    check_gpu_asked_for(settings.als)
    report = cli.run_on_spark(
        "evaluate",
        settings,
        lambda spark: evaluate_log(spark, cli.input_spec(args), settings, args.output, args.seeds, args.baselines),
    )
    if len(args.seeds) > 1:
        print(markdown(report, args.input))
        print(f"reports: {args.output}/summary.md, summary.json and seed-N/ for each split")
        return 0
    print(f"{report['protocol']}; {report['test_users']:,} users, {report['test_pairs']:,} held-out pairs")
    print(format_table(report["models"]))
    print(f"reports: {args.output}/report.html, report.md, report.json")
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("evaluate.py", main))
