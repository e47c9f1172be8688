"""Soak: mixed load on the service over loopback for minutes, with a hot reload every minute.

python bench/soak.py --artifacts ROOT --name NAME [--minutes 10] [--rate 200] [--record]

The service runs as users run it (one uvicorn worker, an admin token so /admin/reload exists). wrk (Debian:
apt-get install wrk; the same driver as bench/serve_load.py) offers about --rate requests per second over 16
connections, one 60-second run per minute, rotating through the service's read routes with ids the bundle holds
(known users' /recommend with each model, /similar-users, /similar-items, /next, POST /recommend for a new user,
POST /recommend/batch). From the second minute on, half-way through each minute LATEST is flipped between the
bundle's version and a copy of it under a second version name, and POST /admin/reload swaps the service over
while the load runs. Reported per minute: requests, failures (socket errors and any status other than 2xx),
p50 and p99; and the service's resident memory after the first minute against the end (growth target <= 10%).
Results go to docs/RELIABILITY.md with --record. (A Python client could not offer 200 requests/s here: httpx
spent the two cores on itself and measured its own queue.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import polars as pl
from serve_load import WRK_SCRIPT, Server, measure
from timing import record

from recsys import artifacts, layout
from recsys import schemas as S

REPO = Path(__file__).resolve().parent.parent
TOKEN = "soak-token"
CONNECTIONS = 16


def request_lines(folder: Path, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` requests in wrk's file format (a GET path, or METHOD<tab>PATH<tab>JSON body) over ids the bundle holds,
    the eight kinds in turn."""
    users = pl.read_parquet(folder / layout.USERS / "*.parquet")[S.USER_ID].to_list()
    items = pl.read_parquet(folder / layout.ITEMS / "*.parquet")[S.ITEM_ID].to_list()

    def user() -> str:
        return quote(str(users[rng.integers(len(users))]), safe="")

    def some_items(n: int) -> list[str]:
        return [str(items[i]) for i in rng.choice(len(items), size=n, replace=False)]

    def post(path: str, body: dict) -> str:
        return f"POST\t{path}\t{json.dumps(body)}"

    kinds: list[Callable[[], str]] = [
        lambda: f"/recommend?user={user()}&k=10",
        lambda: f"/recommend?user={user()}&k=10&model=item2vec",
        lambda: f"/recommend?user={user()}&k=10&model=blend",
        lambda: f"/similar-users?user={user()}&k=10",
        lambda: f"/similar-items?item={quote(some_items(1)[0], safe='')}&k=10",
        lambda: f"/next?items={quote(','.join(some_items(3)), safe='')}&k=10",
        lambda: post("/recommend", {"items": some_items(5), "k": 10}),
        lambda: post("/recommend/batch", {"users": [users[i] for i in rng.integers(len(users), size=10)]}),
    ]
    return [kinds[i % len(kinds)]() for i in range(n)]


def second_version(root: Path, name: str) -> tuple[str, str]:
    """The live version and a copy of it under another version name (its manifest says so), to flip between."""
    folder = artifacts.resolve(root, name)
    twin = folder.with_name(folder.name + "-soak")
    if not twin.exists():
        shutil.copytree(folder, twin)
        manifest = (twin / artifacts.MANIFEST).read_text().replace(folder.name, twin.name)
        (twin / artifacts.MANIFEST).write_text(manifest)
    return folder.name, twin.name


def reload_to(base: str, home: Path, version: str, answers: list[str]) -> None:
    """Point LATEST at ``version`` and ask the service to reload; the answer is appended to ``answers``."""
    (home / artifacts.LATEST).write_text(version + "\n")
    answer = httpx.post(f"{base}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    answers.append(f"{answer.status_code} {answer.json().get('version', answer.text)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", required=True, type=Path, help="artifact root holding NAME/LATEST")
    parser.add_argument("--name", required=True)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second offered")
    parser.add_argument("--record", action="store_true", help="append the results to docs/RELIABILITY.md")
    args = parser.parse_args(argv)
    home = args.artifacts / args.name
    versions = second_version(args.artifacts, args.name)
    scratch = Path(tempfile.mkdtemp(prefix="soak-"))
    script, lines = scratch / "mixed.lua", scratch / "requests.txt"
    script.write_text(WRK_SCRIPT)
    lines.write_text("\n".join(request_lines(home / versions[0], 20_000, np.random.default_rng(0))) + "\n")
    command = [sys.executable, "-m", "serving", "--artifacts", str(args.artifacts), "--name", args.name,
               "--no-access-log"]  # fmt: skip
    server = Server(command, "/readyz", env={"RECSYS__SERVING__ADMIN_TOKEN": TOKEN})
    minutes: list[dict] = []
    answers: list[str] = []
    rss: dict[str, float] = {}
    try:
        for minute in range(args.minutes):
            reload = None
            if minute:  # the first minute is the baseline
                version = versions[minute % 2]
                reload = threading.Timer(30, reload_to, (server.base, home, version, answers))
                reload.start()
            minutes.append(measure(server.base, lines, script, CONNECTIONS, 60, args.rate))
            if reload is not None:
                reload.join()
            if minute == 0:
                rss["first"] = server.rss_mib()
        rss["last"] = server.rss_mib()
    finally:
        server.stop()
        (home / artifacts.LATEST).write_text(versions[0] + "\n")
        shutil.rmtree(scratch)
    rows, failed = [], 0
    for minute, run in enumerate(minutes, start=1):
        failures = run["non_2xx"] + run["socket_errors"]
        failed += failures
        rows.append(f"| {minute} | {run['requests']:,} | {failures} | {run['p50_ms']:.1f} | {run['p99_ms']:.1f} |")
    growth = rss["last"] / rss["first"] - 1
    summary = (
        f"{args.minutes} minutes at {args.rate:.0f} requests/s offered over 8 request kinds ({CONNECTIONS} "
        f"connections), {len(answers)} reloads "
        f"({', '.join(sorted(set(a.split()[0] for a in answers)))} answers); failed requests: {failed}. Service "
        f"resident memory {rss['first']:,.0f} MiB after the first minute, {rss['last']:,.0f} MiB at the end "
        f"({growth:+.1%}; target <= +10%). wrk and the service share the machine's {os.cpu_count()} cores."
    )
    table = "\n".join(["| minute | requests | failed | p50 ms | p99 ms |", "|---:|---:|---:|---:|---:|", *rows])
    print(summary, table, sep="\n")
    if args.record:
        record("Soak: mixed load with a reload every minute", f"python bench/soak.py {' '.join(argv)}", "",
               f"{summary}\n\n{table}", REPO / "docs" / "RELIABILITY.md")  # fmt: skip
    return 1 if failed or growth > 0.10 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
