"""Load on the service over loopback with wrk, side by side with a bare FastAPI JSON endpoint in the same run.

python bench/serve_load.py --artifacts ROOT --name NAME [--model NAME] [--concurrency 1 16 64] [--seconds 15]
  [--rate 500] [--record]

Both servers run as the user runs them (one uvicorn worker on httptools and asyncio, no access log) and are
loaded one after the other by the same wrk command: closed-loop at each concurrency (throughput and latency at
saturation), then paced at ``--rate`` requests per second (each connection waits connections/rate between
requests through wrk's delay()), which is how the p99 target is stated. /recommend asks for a different user
each time, drawn from the bundle. wrk comes from the system (Debian: apt-get install wrk); it is not a Python
package.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import polars as pl
from timing import record

from recsys import artifacts, layout
from recsys import schemas as S
from serving.__main__ import HTTP_STACK

REPO = Path(__file__).resolve().parent.parent

#: Rotates through the requests of a file, one per line: a path (GET) or METHOD<tab>PATH<tab>JSON BODY; paces
#: when WRK_DELAY_MS is set; prints one JSON line at the end.
WRK_SCRIPT = """
local requests, i = {}, 0
local pace = tonumber(os.getenv("WRK_DELAY_MS") or "0")
local json = {["Content-Type"] = "application/json"}
function init(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t(.*)$")
    if method == nil then method, path, body = "GET", line, "" end
    requests[#requests + 1] = {method, path, body}
  end
  i = math.random(#requests)
end
function request()
  i = i % #requests + 1
  local r = requests[i]
  if r[3] == "" then return wrk.format(r[1], r[2]) end
  return wrk.format(r[1], r[2], json, r[3])
end
if pace > 0 then
  function delay() return pace end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "non_2xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""

BARE_APP = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/json")
def json_sync():
    """A plain def, run in the threadpool like the service's routes."""
    return {"message": "Hello, World!"}


@app.get("/json-async")
async def json_async():
    """The TechEmpower-style JSON test most published FastAPI figures use."""
    return {"message": "Hello, World!"}
'''


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A server process on a free loopback port, stopped on exit."""

    def __init__(
        self, command: list[str], ready_path: str, env: dict[str, str] | None = None, cwd: Path = REPO
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + ready_path, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"{command} exited with {self.process.returncode}")
            time.sleep(0.5)
        raise TimeoutError(f"{command} not ready")

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def wrk(base: str, paths_file: Path, script: Path, connections: int, seconds: int, delay_ms: float = 0) -> dict:
    """One wrk run; ``delay_ms`` > 0: every connection waits that long after each answer before its next request."""
    env = {**os.environ, "WRK_DELAY_MS": str(delay_ms)}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), base]
    out = subprocess.run([*command, "--", str(paths_file)], capture_output=True, text=True, env=env, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def measure(base: str, paths_file: Path, script: Path, connections: int, seconds: int, rate: float) -> dict:
    """Closed-loop at ``connections`` when ``rate`` is 0, else offering about ``rate`` requests/s.

    Paced: each connection should send every connections/rate seconds. wrk waits ``delay`` after each answer, so a
    connection's period is delay + latency; a 3 s probe measures the latency and the run subtracts it.
    """
    if not rate:
        return wrk(base, paths_file, script, connections, seconds)
    period_ms = 1000 * connections / rate
    probe = wrk(base, paths_file, script, connections, 3, period_ms)
    latency_ms = 1000 * connections / probe["rps"] - period_ms
    return wrk(base, paths_file, script, connections, seconds, max(period_ms - latency_ms, 0.0))


def recommend_paths(folder: Path, n: int, k: int, model: str | None = None) -> list[str]:
    """/recommend for ``n`` users drawn from the bundle (``model``: that model's, else the default's)."""
    users = pl.read_parquet(folder / layout.USERS / "*.parquet")[S.USER_ID].to_numpy()
    sample = np.random.default_rng(0).choice(users, size=min(n, len(users)), replace=False)
    named = "" if model is None else f"&model={model}"
    return [f"/recommend?user={quote(str(user))}&k={k}{named}" for user in sample]


def row(what: str, connections: int, offered: str, ours: dict, bare: dict) -> str:
    errors = ours["non_2xx"] + ours["socket_errors"]
    return (
        f"| {what} | {connections} | {offered} | {ours['rps']:,.0f} | {ours['p50_ms']:.1f} | {ours['p95_ms']:.1f} | "
        f"{ours['p99_ms']:.1f} | {errors} | {bare['rps']:,.0f} | {bare['p99_ms']:.1f} | "
        f"{ours['rps'] / bare['rps']:.0%} |"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", required=True, help="artifact root holding NAME/LATEST")
    parser.add_argument("--name", required=True)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=int, default=15, help="length of each wrk run")
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s of the paced runs")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--model",
        default="als",
        help="the model= of every request (default: als, the series docs/BENCHMARKS.md records; '' for none: the "
        "service's default, the bundle's measured best)",
    )
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2

    folder = artifacts.resolve(args.artifacts, args.name)
    manifest = artifacts.load_manifest(folder)
    scratch = Path(tempfile.mkdtemp(prefix="serve-load-"))
    script, targets, bare_file = scratch / "rotate.lua", scratch / "recommend.txt", scratch / "bare_app.py"
    script.write_text(WRK_SCRIPT)
    targets.write_text("\n".join(recommend_paths(folder, 10_000, args.k, args.model or None)) + "\n")
    bare_file.write_text(BARE_APP)
    (scratch / "json.txt").write_text("/json\n")
    (scratch / "json-async.txt").write_text("/json-async\n")

    python = [sys.executable, "-m"]
    serving = [*python, "serving", "--artifacts", args.artifacts, "--name", args.name, "--no-access-log"]
    same_stack = [flag for key, value in HTTP_STACK.items() for flag in (f"--{key}", value)]
    bare_app = [*python, "uvicorn", "--app-dir", str(scratch), "bare_app:app", *same_stack, "--no-access-log"]
    rows = []
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)
        ours = Server(serving, "/readyz")
        cleanup.callback(ours.stop)
        rss = ours.rss_mib()
        bare = Server([*bare_app, "--log-level", "warning"], "/json")
        cleanup.callback(bare.stop)
        for connections, rate in [(c, 0.0) for c in args.concurrency] + [(16, args.rate)]:
            offered = f"{rate:.0f}/s" if rate else "max"
            wrk(ours.base, targets, script, connections, 2)  # warm-up: first touches of the mapped index pages
            measured = measure(ours.base, targets, script, connections, args.seconds, rate)
            sync = measure(bare.base, scratch / "json.txt", script, connections, args.seconds, rate)
            asynchronous = measure(bare.base, scratch / "json-async.txt", script, connections, args.seconds, rate)
            rows.append(row("`/recommend` vs bare `def`", connections, offered, measured, sync))
            rows.append(row("`/recommend` vs bare `async def`", connections, offered, measured, asynchronous))
            print(rows[-2], rows[-1], sep="\n", flush=True)

    header = [
        "| route vs bare endpoint | connections | offered | RPS | p50 ms | p95 ms | p99 ms | errors | bare RPS | "
        "bare p99 ms | ours / bare |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    counts = manifest["counts"]
    summary = (
        f"Bundle: {counts['items']:,} items, {counts['users']:,} users, `items_als` index "
        f"{manifest['indexes'][layout.INDEX_ITEMS_ALS]['kind']}; service resident memory after load {rss:,.0f} MiB; "
        f"model={args.model or 'the default'}."
    )
    table = "\n".join([*header, *rows])
    print(summary, table, sep="\n")
    if args.record:
        command = f"python bench/serve_load.py {' '.join(argv)}"
        conditions = " (no GPU; one uvicorn worker each, wrk on the same cores)"
        record("Service under load (wrk)", command, conditions, f"{summary}\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
