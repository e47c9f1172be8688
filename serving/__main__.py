"""python -m serving --artifacts DIR [--name NAME] [--images-name NAME] [--host H] [--port P] [--workers N]
[--print-examples]"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from pathlib import Path
from urllib.parse import quote

import polars as pl
import uvicorn

from recsys import artifacts, commands, layout
from recsys import schemas as S
from recsys.settings import load_settings
from serving.app import check_default_model
from serving.limits import upload_limits

#: uvicorn's parser and event loop, named rather than "auto": httptools parses faster than h11, and asyncio's loop
#: stays even where uvloop is installed, which at 64 connections past saturation left some requests waiting a
#: second (p99; docs/BENCHMARKS.md). bench/serve_load.py runs its bare peer on the same.
HTTP_STACK = {"http": "httptools", "loop": "asyncio"}


def print_examples(root: str, name: str, host: str, port: int) -> None:
    """curl lines that work as printed against this bundle, with a real user and item from it."""
    folder = artifacts.resolve(root, name)
    user = pl.read_parquet(folder / layout.USERS / "*.parquet")[S.USER_ID][0]
    item = pl.read_parquet(folder / layout.ITEMS / "*.parquet").sort(S.ITEM_IDX)[S.ITEM_ID][0]
    base = f"http://{host}:{port}"
    print(f"\nBundle {folder} is live (LATEST). Start the service:\n")
    print(f"  make serve        # or: .venv/bin/python -m serving --artifacts {root} --name {name} --port {port}\n")
    print(f"Then open the page in a browser: {base}/  (or a user's: {base}/?user={quote(user)})\n")
    print("Or, from another terminal:\n")
    print(f"  curl '{base}/healthz'")
    print(f"  curl '{base}/models'")
    print(f"  curl '{base}/recommend?user={quote(user)}&k=5'")
    print(f"  curl '{base}/recommend?user={quote(user)}&k=5&model=blend'")
    batch = json.dumps({"users": [user], "k": 5})
    print(f"  curl -X POST '{base}/recommend/batch' -H 'Content-Type: application/json' -d '{batch}'")
    print(f"  curl '{base}/next?items={quote(item)}&k=5'")
    print(f"  curl '{base}/similar-users?user={quote(user)}&k=5'")
    print(f"  curl '{base}/similar-items?item={quote(item)}&k=5'")
    print(f"  curl '{base}/search?q={quote(item[:2])}&k=5'")
    print(f"  curl '{base}/readyz'")
    print(f"  curl '{base}/metrics'")
    print(f"\nOpenAPI docs: {base}/docs\n")


def check_port_free(host: str, port: int) -> None:
    """ValueError (one line, exit 2) where the port is taken: uvicorn would say so after the bundle's log lines and
    exit 3."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closed socket's port is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ValueError(
                f"cannot listen on {host}:{port} ({exc.strerror}): pick another port with --port N (make serve PORT=N)"
            ) from None


def playlist_bundle_name(root: str, name: str | None, images_name: str | None) -> str:
    """The playlist bundle to serve: ``name``, else "default", else "" (none) for a service given only an image
    bundle, so that a user with images alone can serve them."""
    if name is not None:
        return name
    if images_name and not (Path(root) / "default").is_dir():
        return ""
    return "default"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving", description="Serve the LATEST bundle over HTTP.")
    parser.add_argument("--artifacts", required=True, help="artifact root the build job wrote to (its --output)")
    parser.add_argument(
        "--name",
        help="the playlist bundle's name (default: default; with --images-name and no default bundle under "
        "--artifacts: none, an image-only service)",
    )
    parser.add_argument("--images-name", help="an image bundle (jobs/index_images.py) to serve beside, same root")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)")
    parser.add_argument("--no-access-log", action="store_true", help="do not log a line per request")
    parser.add_argument("--print-examples", action="store_true", help="print curl examples for this bundle and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    name = playlist_bundle_name(args.artifacts, args.name, args.images_name)
    if args.print_examples:
        if not name:
            parser.error(f"--print-examples shows the playlist routes: {args.artifacts} has no bundle 'default', "
                         "give --name NAME")  # fmt: skip
        print_examples(args.artifacts, name, args.host, args.port)
        return 0
    settings = load_settings()
    check_default_model(settings.serving)  # mistakes every worker would make: said once, now
    upload_limits(settings)
    serving = settings.serving
    if not (serving.watch_interval_s or serving.admin_token.get_secret_value()):
        try:
            for bundle in filter(None, (name, args.images_name)):
                artifacts.resolve(args.artifacts, bundle)
        except artifacts.BundleError as exc:  # nothing could ever make this service ready: say so now
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if not name:
        logging.getLogger(__name__).info("no playlist bundle under %s: serving images only", args.artifacts)
    check_port_free(args.host, args.port)
    # Every worker builds its app from the settings, so hand it the root and name through the environment.
    os.environ["RECSYS__SERVING__ARTIFACTS"] = args.artifacts
    os.environ["RECSYS__SERVING__NAME"] = name
    if args.images_name:
        os.environ["RECSYS__SERVING__IMAGES_NAME"] = args.images_name
    if args.workers > 1:
        os.environ["RECSYS__SERVING__LOAD_IN_BACKGROUND"] = "false"
    uvicorn.run(
        "serving.app:from_settings",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        **HTTP_STACK,
        log_level="info",
        access_log=not args.no_access_log,
    )
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("python -m serving", main))
