"""spark-submit jobs/build_embeddings.py --input PATH --format FORMAT --output DIR [--name NAME] [--set k=v ...]

Builds the bundle DIR/NAME/VERSION/ (id maps, ratings, co-occurrence, sequences, item2vec and ALS vectors,
FAISS indexes, evaluation report, manifest) and then points DIR/NAME/LATEST at it.
"""

from __future__ import annotations

import argparse
import sys

from recsys import cli, commands
from recsys.models.als import check_gpu_asked_for
from recsys.pipeline import BuildRequest, build_bundle


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="build_embeddings.py", description=__doc__.split("\n\n")[1])
    cli.add_input_arguments(parser)
    parser.add_argument("--output", required=True, help="artifact root; the bundle goes to OUTPUT/NAME/VERSION")
    parser.add_argument("--name", default="default", help="bundle name (default: %(default)s)")
    cli.add_settings_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cli.configure_logging()
    settings = cli.settings_of(args)
    request = BuildRequest(cli.input_spec(args), args.output, args.name)
    check_gpu_asked_for(settings.als)
    folder = cli.run_on_spark("build_embeddings", settings, lambda spark: build_bundle(spark, request, settings))
    print(f"bundle published: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("build_embeddings.py", main))
