"""spark-submit jobs/build_embeddings.py --input PATH --format FORMAT --output DIR [--name NAME] [--set k=v ...]

Builds the bundle DIR/NAME/VERSION/ (id maps, ratings, co-occurrence, sequences, item2vec and ALS vectors,
FAISS indexes, evaluation report, manifest) and then points DIR/NAME/LATEST at it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from recsys.io import FORMATS, InputSpec, RejectRatioExceeded
from recsys.pipeline import BuildRequest, build_bundle
from recsys.settings import load_settings
from recsys.spark.session import spark_session


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="build_embeddings.py", description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "--input",
        required=True,
        help="click log: CSV/Parquet file or folder (long), Yes.com folder (yes), folder of MPD JSON "
        "slices (mpd), MatrixMarket coordinate file (mtx)",
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="input format (see README: Your own data)")
    parser.add_argument("--output", required=True, help="artifact root; the bundle goes to OUTPUT/NAME/VERSION")
    parser.add_argument("--name", default="default", help="bundle name (default: %(default)s)")
    parser.add_argument("--items", help="long format only: item metadata CSV/Parquet with an item_id column")
    parser.add_argument("--row-labels", help="mtx only: one user id per line (line i names row i)")
    parser.add_argument("--column-labels", help="mtx only: one item id per line (line j names column j)")
    parser.add_argument(
        "--max-reject-ratio",
        type=float,
        metavar="RATIO",
        help="stop when more than this share of rows is malformed (input.max_reject_ratio, default 0.01)",
    )
    parser.add_argument("--env", help="settings layer conf/ENV.toml (default: $RECSYS_ENV)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set als.factors=128 (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("gensim.utils").setLevel(logging.WARNING)  # lifecycle dumps; per-epoch progress stays
    logging.getLogger("py4j").setLevel(logging.WARNING)
    overrides = args.overrides
    if args.max_reject_ratio is not None:  # the flag is the documented spelling of --set input.max_reject_ratio
        overrides = [*overrides, f"input.max_reject_ratio={args.max_reject_ratio}"]
    settings = load_settings(overrides, args.env)
    spark = spark_session(settings.spark)
    try:
        source = InputSpec(args.input, args.format, args.items, args.row_labels, args.column_labels)
        request = BuildRequest(source, args.output, args.name)
        folder = build_bundle(spark, request, settings)
    except (RejectRatioExceeded, ValueError, FileNotFoundError) as exc:
        logging.getLogger("build_embeddings").error("%s", exc)
        return 2
    finally:
        spark.stop()
    print(f"bundle published: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
