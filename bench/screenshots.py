"""The page's screenshots in docs/, taken by the headless Chromium (Debian's) that the page's tests drive.

python bench/screenshots.py --base http://127.0.0.1:8000 --user p0 [--image ID] [--out docs]

Start the service first (`make serve`, with `--images-name NAME` for the image view); each address is opened once
the page says it has drawn everything (``body[data-ready]``) and saved as docs/page-user.png and page-image.png.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from urllib.parse import urlencode

from recsys import commands


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="the running service")
    parser.add_argument("--user", required=True, help="the user (playlist) of page-user.png")
    parser.add_argument("--image", help="the image of page-image.png (a service started with --images-name)")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        parser.error("headless Chromium is not installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    shots = {"page-user.png": {"user": args.user}}
    if args.image:
        shots["page-image.png"] = {"image": args.image}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for name, query in shots.items():
            page.goto(f"{args.base}/?{urlencode(query)}")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            page.screenshot(path=str(args.out / name), full_page=True)
            print(args.out / name)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("python bench/screenshots.py", main))
