"""What the jobs' command lines share: the input options, the settings options, and logging."""

from __future__ import annotations

import argparse
import logging

from recsys.io import FORMATS, InputSpec
from recsys.settings import Settings, load_settings


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        required=True,
        help="click log: CSV/Parquet file or folder (long), Yes.com folder (yes), folder of MPD JSON "
        "slices (mpd), MatrixMarket coordinate file (mtx)",
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="input format (see README: Your own data)")
    parser.add_argument("--items", help="long format only: item metadata CSV/Parquet with an item_id column")
    parser.add_argument("--row-labels", help="mtx only: one user id per line (line i names row i)")
    parser.add_argument("--column-labels", help="mtx only: one item id per line (line j names column j)")
    parser.add_argument(
        "--max-reject-ratio",
        type=float,
        metavar="RATIO",
        help="stop when more than this share of rows is malformed (input.max_reject_ratio, default 0.01)",
    )


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="settings layer conf/ENV.toml (default: $RECSYS_ENV)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set als.factors=128 (repeatable)",
    )


def input_spec(args: argparse.Namespace) -> InputSpec:
    return InputSpec(args.input, args.format, args.items, args.row_labels, args.column_labels)


def settings_of(args: argparse.Namespace, *overrides: str) -> Settings:
    """The layered settings with --set, then the flags that are documented spellings of settings, applied."""
    extra = list(overrides)
    if args.max_reject_ratio is not None:
        extra.append(f"input.max_reject_ratio={args.max_reject_ratio}")
    return load_settings([*args.overrides, *extra], args.env)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("gensim.utils").setLevel(logging.WARNING)  # lifecycle dumps; per-epoch progress stays
    logging.getLogger("py4j").setLevel(logging.WARNING)
