"""spark-submit jobs/recommend_all.py --artifacts DIR [--name NAME] --output PATH [--k K] [--device cpu|cuda]

Writes the top-K ALS recommendations of every user of the live bundle DIR/NAME/LATEST as Parquet
(user_id, rank, item_id, score), items the user already holds excluded, for export to a key-value store.
Batches run on torch: on the GPU where torch sees one. Runs under spark-submit or plain python; it needs no
Spark session, only the bundle.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from recsys import commands
from recsys.artifacts import BundleError, resolve
from recsys.recommend_all import recommend_all


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="recommend_all.py", description=__doc__.split("\n\n")[1])
    parser.add_argument("--artifacts", required=True, type=Path, help="artifact root the build job wrote")
    parser.add_argument("--name", default="default", help="bundle name (default: %(default)s)")
    parser.add_argument("--output", required=True, type=Path, help="folder of Parquet parts to write")
    parser.add_argument("--k", type=int, default=100, help="recommendations per user (default: %(default)s)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda where torch sees a GPU, else cpu")
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error("--k must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        bundle = resolve(args.artifacts, args.name)
    except BundleError as exc:
        print(f"recommend_all.py: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(recommend_all(bundle, args.output, args.k, args.device)))
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("recommend_all.py", main))
