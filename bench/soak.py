"""Soak: mixed load on the service over loopback for minutes, with a hot reload every minute.

python bench/soak.py --artifacts ROOT --name NAME [--minutes 10] [--rate 200] [--record]

The service runs as users run it (one uvicorn worker, an admin token so /admin/reload exists). The load is
open-loop at --rate requests per second, spread over the service's read routes (known users' /recommend with each
model, /similar-users, /similar-items, /next, POST /recommend for a new user, POST /recommend/batch), from
asyncio clients in this process. Every minute LATEST is flipped between the bundle's version and a copy of it
under a second version name, and POST /admin/reload swaps the service over while the load runs. Reported per
minute: requests, failures (any transport error or status other than 200), p50 and p99; and the service's
resident memory after the first minute against the end (growth target <= 10%). Results go to docs/RELIABILITY.md
with --record.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import polars as pl
from serve_load import Server
from timing import record

from recsys import artifacts, layout
from recsys import schemas as S

REPO = Path(__file__).resolve().parent.parent
TOKEN = "soak-token"


def requests_of(folder: Path, rng: np.random.Generator) -> list[Callable[[], tuple[str, str, dict | None]]]:
    """Each entry draws one request (method, path, JSON body) over ids the bundle holds."""
    users = pl.read_parquet(folder / layout.USERS / "*.parquet")[S.USER_ID].to_list()
    items = pl.read_parquet(folder / layout.ITEMS / "*.parquet")[S.ITEM_ID].to_list()

    def user() -> str:
        return quote(str(users[rng.integers(len(users))]), safe="")

    def some_items(n: int) -> list[str]:
        return [str(items[i]) for i in rng.choice(len(items), size=n, replace=False)]

    return [
        lambda: ("GET", f"/recommend?user={user()}&k=10", None),
        lambda: ("GET", f"/recommend?user={user()}&k=10&model=item2vec", None),
        lambda: ("GET", f"/recommend?user={user()}&k=10&model=blend", None),
        lambda: ("GET", f"/similar-users?user={user()}&k=10", None),
        lambda: ("GET", f"/similar-items?item={quote(some_items(1)[0], safe='')}&k=10", None),
        lambda: ("GET", f"/next?items={quote(','.join(some_items(3)), safe='')}&k=10", None),
        lambda: ("POST", "/recommend", {"items": some_items(5), "k": 10}),
        lambda: ("POST", "/recommend/batch", {"users": [users[i] for i in rng.integers(len(users), size=10)]}),
    ]


def second_version(root: Path, name: str) -> tuple[str, str]:
    """The live version and a copy of it under another version name (its manifest says so), to flip between."""
    folder = artifacts.resolve(root, name)
    twin = folder.with_name(folder.name + "-soak")
    if not twin.exists():
        shutil.copytree(folder, twin)
        manifest = (twin / artifacts.MANIFEST).read_text().replace(folder.name, twin.name)
        (twin / artifacts.MANIFEST).write_text(manifest)
    return folder.name, twin.name


async def load(base: str, draws: list, rate: float, seconds: float, minute_of: Callable[[], int]) -> list[list]:
    """Open-loop requests at ``rate``/s for ``seconds``; per minute, a list of (latency_s, ok) per request."""
    per_minute: list[list] = [[] for _ in range(int(seconds // 60) + 1)]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=10.0, limits=limits) as client:

        async def one(method: str, path: str, body: dict | None) -> None:
            start = time.perf_counter()
            try:
                answer = await client.request(method, path, json=body)
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            per_minute[minute_of()].append((time.perf_counter() - start, ok))

        tasks, start, n = set(), time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) - n
            for _ in range(due):
                task = asyncio.create_task(one(*draws[n % len(draws)]()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
    return per_minute


async def reloads(base: str, home: Path, versions: tuple[str, str], minutes: int) -> list[str]:
    """Each minute: flip LATEST to the other version and reload; returns each reload's answer."""
    answers = []
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
        for minute in range(1, minutes):
            await asyncio.sleep(60)
            (home / artifacts.LATEST).write_text(versions[minute % 2] + "\n")
            answer = await client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
            answers.append(f"{answer.status_code} {answer.json().get('version', answer.text)}")
    return answers


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
    draws = requests_of(home / versions[0], np.random.default_rng(0))
    command = [sys.executable, "-m", "serving", "--artifacts", str(args.artifacts), "--name", args.name,
               "--no-access-log"]  # fmt: skip
    server = Server(command, "/readyz", env={"RECSYS__SERVING__ADMIN_TOKEN": TOKEN})
    rss: dict[str, float] = {}
    try:
        start = time.monotonic()

        def minute_of() -> int:
            minute = int((time.monotonic() - start) // 60)
            if minute >= 1 and "first" not in rss:
                rss["first"] = server.rss_mib()
            return minute

        async def run() -> tuple[list[list], list[str]]:
            return await asyncio.gather(
                load(server.base, draws, args.rate, args.minutes * 60, minute_of),
                reloads(server.base, home, versions, args.minutes),
            )

        per_minute, answers = asyncio.run(run())
        rss["last"] = server.rss_mib()
    finally:
        server.stop()
        (home / artifacts.LATEST).write_text(versions[0] + "\n")
    rows, failed = [], 0
    for minute, samples in enumerate(per_minute):
        if not samples:
            continue
        latencies = np.array([s[0] for s in samples]) * 1000
        failures = sum(not s[1] for s in samples)
        failed += failures
        rows.append(f"| {minute + 1} | {len(samples):,} | {failures} | {np.percentile(latencies, 50):.1f} | "
                    f"{np.percentile(latencies, 99):.1f} |")  # fmt: skip
    growth = rss["last"] / rss["first"] - 1
    summary = (
        f"{args.minutes} minutes at {args.rate:.0f} requests/s offered over 8 request kinds, {len(answers)} reloads "
        f"({', '.join(sorted(set(a.split()[0] for a in answers)))} answers); failed requests: {failed}. Service "
        f"resident memory {rss['first']:,.0f} MiB after the first minute, {rss['last']:,.0f} MiB at the end "
        f"({growth:+.1%}; target <= +10%). Load generator and service share the machine's {os.cpu_count()} cores."
    )
    table = "\n".join(["| minute | requests | failed | p50 ms | p99 ms |", "|---:|---:|---:|---:|---:|", *rows])
    print(summary, table, sep="\n")
    if args.record:
        record("Soak: mixed load with a reload every minute", f"python bench/soak.py {' '.join(argv)}", "",
               f"{summary}\n\n{table}", REPO / "docs" / "RELIABILITY.md")  # fmt: skip
    return 1 if failed or growth > 0.10 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
