"""The whole build and the service at 1%, 10% and 100% of the Million Playlist Dataset, stage by stage.

python bench/mpd.py --playlists 10000 100000 1000000 [--work data/mpd] [--serve-seconds 30] [--reuse] [--record]
    [--set KEY=VALUE ...]

For each size, an MPD-shaped log (mean length 66, 2.2 tracks per playlist in the catalogue, taste clusters of
2,200 tracks: every track is as frequent at every size) is generated once with ``recsys.synth --spark``. The real
build then runs as a user runs it, ``python jobs/build_embeddings.py`` with default settings and its evaluation
on, while this process samples the build's whole process tree (JVM, Python driver, Spark's Python workers) every
half second: resident memory, and bytes handed to storage (/proc/PID/io write_bytes, summed over every process
seen). The build's manifest times each stage (recsys/stages.py); a stage's peak memory and bytes written are the
samples taken while it ran. The planted structure then grades the published bundle's next song: is a track's
planted successor in the top 10 of item2vec's next-song scores, of the sequential rules' followers and of what
GET /next answers for it, and what share of its 10 most similar tracks are in its
cluster. Sizes run in the order given; --reuse takes a size's figures from its JSON in the work folder instead
of building again, so a long size can run on its own first. For the largest size, the service is started on the
bundle: ready time, resident memory, and /recommend p50/p99 at 100 requests/s for each served model (wrk, from
Debian's packages).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from timing import exponent, proc_field, process_tree, record

REPO = Path(__file__).resolve().parent.parent
SAMPLE_S = 0.5
SERVED = ("als", "item2vec", "blend")


def synth_args(playlists: int) -> list[str]:
    """The generator's flags for an MPD-shaped log of ``playlists`` playlists."""
    return [
        "--playlists", str(playlists), "--tracks", str(playlists * 22 // 10),
        "--clusters", str(max(playlists // 1000, 8)), "--mean-length", "66", "--max-length", "250", "--seed", "1",
    ]  # fmt: skip


def generate(work: Path, playlists: int) -> Path:
    log = work / f"log-{playlists}"
    if not log.exists():
        command = [sys.executable, "-m", "recsys.synth", "--spark", *synth_args(playlists), "--out", str(log)]
        subprocess.run(command, cwd=REPO, check=True)
    return log


@dataclass
class Sampler:
    """Resident memory and bytes written of a process tree over time."""

    pid: int
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (time, rss bytes, written bytes so far)
    _written: dict[int, int] = field(default_factory=dict)  # last write_bytes of every process ever seen
    _done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._done.is_set():
            rss = 0
            for pid in process_tree(self.pid):
                rss += proc_field(f"/proc/{pid}/status", "VmRSS:") * 1024
                written = proc_field(f"/proc/{pid}/io", "write_bytes:")
                self._written[pid] = max(self._written.get(pid, 0), written)
            self.samples.append((time.time(), rss, sum(self._written.values())))
            time.sleep(SAMPLE_S)

    def stop(self) -> None:
        self._done.set()

    def within(self, start: float, end: float) -> tuple[int, int]:
        """Peak resident bytes and bytes written between ``start`` and ``end``."""
        inside = [s for s in self.samples if start <= s[0] <= end + SAMPLE_S]
        before = [s for s in self.samples if s[0] < start]
        if not inside:
            return 0, 0
        written_before = before[-1][2] if before else 0
        return max(s[1] for s in inside), inside[-1][2] - written_before


def build(work: Path, playlists: int, log: Path, overrides: list[str]) -> dict:
    """Run the real build on ``log`` as a user would (``overrides``: its --set KEY=VALUE arguments); its stages
    with their memory and disk, and totals."""
    output = work / f"artifacts-{playlists}"
    command = [
        sys.executable, "jobs/build_embeddings.py", "--input", str(log), "--format", "long",
        "--output", str(output), "--name", "mpd", *(a for o in overrides for a in ("--set", o)),
    ]  # fmt: skip
    start = time.time()
    with open(work / f"build-{playlists}.log", "w") as out:
        child = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        sampler = Sampler(child.pid)
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        returncode = child.wait()
        end = time.time()
        sampler.stop()
        thread.join()
    if returncode != 0:
        raise RuntimeError(f"the build at {playlists:,} playlists failed ({returncode}): {work}/build-{playlists}.log")
    bundle = (output / "mpd" / (output / "mpd" / "LATEST").read_text().strip()).resolve()
    manifest = json.loads((bundle / "manifest.json").read_text())
    stages = []
    for entry in manifest["stages"]:
        peak, written = sampler.within(entry["start"], entry["start"] + entry["seconds"])
        stages.append({**entry, "peak_rss": peak, "written": written})
    last_end = max(e["start"] + e["seconds"] for e in manifest["stages"])
    first_start = min(e["start"] for e in manifest["stages"])
    for name, (a, b) in {"start-up (JVM, settings)": (start, first_start), "publish": (last_end, end)}.items():
        peak, written = sampler.within(a, b)
        stages.append({"stage": name, "start": a, "seconds": b - a, "peak_rss": peak, "written": written})
    return {
        "playlists": playlists,
        "bundle": str(bundle),
        "counts": manifest["counts"],
        "total_s": end - start,
        "peak_rss": max(s[1] for s in sampler.samples),
        "written": sampler.samples[-1][2],
        "stages": stages,
        "evaluation": manifest.get("evaluation") or {},
        "config": manifest["config"],
        "item2vec_epochs": manifest["item2vec_schedule"]["epochs"],
    }


def planted_quality(bundle: Path, playlists: int, probes: int = 3000) -> dict[str, float]:
    """The bundle against the planted structure, on tracks drawn by how often they are played: the share whose
    planted successor is in the top 10 of item2vec's next-song scores (input vector against output vectors), of
    the sequential rules' followers, and of what GET /next answers for the track alone (the bundle's reader, as
    the service calls it); and the share of item2vec's 10 most similar tracks (cosine of input vectors) in the
    track's own cluster."""
    import polars as pl

    from recsys import layout
    from recsys import schemas as S
    from recsys.bundle.reader import LoadedBundle
    from recsys.models.sequential import SequentialRules
    from recsys.synth import Catalogue, SynthConfig

    catalogue = Catalogue.of(
        SynthConfig(playlists=playlists, tracks=playlists * 22 // 10, clusters=max(playlists // 1000, 8), seed=1)
    )
    item_ids = pl.read_parquet(bundle / layout.ITEMS / "*.parquet").sort(S.ITEM_IDX)[S.ITEM_ID]
    track_of = item_ids.str.slice(1).cast(pl.Int64).to_numpy()  # "t123" -> 123
    inputs = np.load(bundle / layout.ITEM2VEC_ITEM_VECTORS)
    outputs = np.load(bundle / layout.ITEM2VEC_OUTPUT_VECTORS)
    index_of = np.full(len(catalogue.cluster), -1)
    index_of[track_of] = np.arange(len(track_of))
    counts = np.bincount(
        pl.read_parquet(bundle / layout.RATINGS / "*.parquet")[S.ITEM_IDX].to_numpy(), minlength=len(track_of)
    )
    rng = np.random.default_rng(0)
    probe = np.unique(rng.choice(len(track_of), size=probes, p=counts / counts.sum()))
    successor = index_of[catalogue.successor[track_of[probe]]]
    hits, same = 0, 0.0
    unit = inputs / np.maximum(np.linalg.norm(inputs, axis=1, keepdims=True), 1e-12)
    for block in np.array_split(np.arange(len(probe)), max(1, len(probe) // 100)):
        rows = probe[block]
        scores = inputs[rows] @ outputs.T
        scores[np.arange(len(rows)), rows] = -np.inf
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        hits += int((top == successor[block, None]).any(axis=1).sum())
        sims = unit[rows] @ unit.T
        sims[np.arange(len(rows)), rows] = -np.inf
        top = np.argpartition(-sims, 10, axis=1)[:, :10]
        same += float((catalogue.cluster[track_of[top]] == catalogue.cluster[track_of[rows]][:, None]).sum())
    followers = SequentialRules(1.0).fit(str(bundle / layout.TRANSITIONS), len(track_of)).matrix_
    followed = 0
    for row, expected in zip(probe, successor, strict=True):
        lo, hi = followers.indptr[row], followers.indptr[row + 1]
        heaviest = followers.indices[lo:hi][np.argsort(-followers.data[lo:hi], kind="stable")[:10]]
        followed += int(expected in heaviest)
    served = LoadedBundle.load(bundle)
    answered = sum(
        int(item_ids[int(expected)] in {a["item"] for a in served.next_items([item_ids[int(row)]], 10)})
        for row, expected in zip(probe, successor, strict=True)
    )
    return {
        "successor@10": hits / len(probe),
        "sequential_successor@10": followed / len(probe),
        "next_successor@10": answered / len(probe),
        "cluster_precision@10": same / (10 * len(probe)),
        "probes": len(probe),
    }


def serve(bundle: Path, seconds: int) -> dict:
    """The service on the bundle: ready time, resident memory, /recommend at 100 requests/s per served model."""
    from serve_load import WRK_SCRIPT, Server, measure, recommend_paths

    artifacts, name = bundle.parent.parent, bundle.parent.name
    start = time.monotonic()
    server = Server([sys.executable, "-m", "serving", "--artifacts", str(artifacts), "--name", name], "/readyz")
    result: dict = {"ready_s": time.monotonic() - start, "rss_ready_mib": server.rss_mib(), "models": {}}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            script = Path(scratch) / "paths.lua"
            script.write_text(WRK_SCRIPT)
            for model in SERVED:
                paths = Path(scratch) / f"{model}.txt"
                paths.write_text("\n".join(recommend_paths(bundle, 2000, 10, model)))
                measure(server.base, paths, script, 4, 3, 100.0)  # warm-up: first touches of mapped pages
                result["models"][model] = measure(server.base, paths, script, 4, seconds, 100.0)
        result["rss_after_mib"] = server.rss_mib()
    finally:
        server.stop()
    return result


def gib(n: float) -> str:
    return f"{n / 2**30:.1f}"


def report(runs: list[dict], served: dict | None) -> str:
    sizes = [r["playlists"] for r in runs]
    head = " | ".join(f"{p:,} playlists: s / peak GiB / written GiB" for p in sizes)
    lines = [
        f"| stage | {head} | exponent {sizes[-2]:,} -> {sizes[-1]:,} |" if len(sizes) > 1 else f"| stage | {head} |"
    ]
    lines.append("|---" + "|---:" * (len(sizes) + (len(sizes) > 1)) + "|")
    by_name = [{s["stage"]: s for s in r["stages"]} for r in runs]
    rows_of = [r["counts"]["interactions"] for r in runs]
    for name in [s["stage"] for s in runs[-1]["stages"]]:
        cells = []
        for stages in by_name:
            s = stages.get(name)
            cells.append(f"{s['seconds']:.1f} / {gib(s['peak_rss'])} / {gib(s['written'])}" if s else "-")
        row = f"| {name} | " + " | ".join(cells)
        if len(runs) > 1:
            small, large = by_name[-2].get(name), by_name[-1].get(name)
            grew = (
                f"{exponent(small['seconds'], large['seconds'], rows_of[-1] / rows_of[-2]):.2f}"
                if small and large and small["seconds"] > 0.5
                else "-"
            )
            row += f" | {grew}"
        lines.append(row + " |")
    totals = " | ".join(f"**{r['total_s']:.0f} / {gib(r['peak_rss'])} / {gib(r['written'])}**" for r in runs)
    whole = ""
    if len(runs) > 1:
        whole = f" | {exponent(runs[-2]['total_s'], runs[-1]['total_s'], rows_of[-1] / rows_of[-2]):.2f}"
    lines.append(f"| **whole build** | {totals}{whole} |")
    lines.append("")
    lines.append(
        "| playlists | rows | tracks | item2vec epochs | successor@10 item2vec / sequential / GET /next | "
        "cluster precision@10 | recall@10 als / item2vec / sequential / user_knn / blend (evaluation) |"
    )
    lines.append("|---:|---:|---:|---:|---|---:|---|")
    for r in runs:
        q, e = r["quality"], r["evaluation"]
        recall = " / ".join(
            f"{e[m]['recall@10']:.3f}" if m in e else "-"
            for m in ("als", "item2vec", "sequential", "user_knn", "blend")
        )
        successors = " / ".join(
            f"{q[key]:.3f}" if key in q else "-"
            for key in ("successor@10", "sequential_successor@10", "next_successor@10")
        )
        lines.append(
            f"| {r['playlists']:,} | {r['counts']['interactions']:,} | {r['counts']['items']:,} | "
            f"{r.get('item2vec_epochs', '-')} | {successors} | {q['cluster_precision@10']:.3f} | {recall} |"
        )
    if served:
        lines.append("")
        lines.append(
            f"Service on the {sizes[-1]:,}-playlist bundle (one worker): ready in {served['ready_s']:.1f} s, "
            f"{served['rss_ready_mib']:,.0f} MiB resident when ready, "
            f"{served['rss_after_mib']:,.0f} MiB after the load."
        )
        lines.append("")
        lines.append("| model | offered | answered/s | p50 ms | p99 ms | errors |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for model, m in served["models"].items():
            errors = m["non_2xx"] + m["socket_errors"]
            lines.append(f"| {model} | 100/s | {m['rps']:.0f} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | {errors} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--playlists", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=REPO / "data" / "mpd", help="logs, bundles and build logs")
    parser.add_argument("--serve-seconds", type=int, default=30, help="length of each model's load; 0: no service")
    parser.add_argument("--reuse", action="store_true", help="take a size's figures from its last run's JSON")
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a build setting (default: the defaults)"
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    runs = []
    for playlists in args.playlists:
        saved = args.work / f"bench-{playlists}.json"
        if args.reuse and saved.exists():
            runs.append(json.loads(saved.read_text()))
            continue
        run = build(args.work, playlists, generate(args.work, playlists), args.set)
        saved.write_text(json.dumps(run, indent=1))
        run["quality"] = planted_quality(Path(run["bundle"]), playlists)
        saved.write_text(json.dumps(run, indent=1))
        runs.append(run)
    runs.sort(key=lambda run: run["playlists"])
    print(report(runs, None), flush=True)
    served = serve(Path(runs[-1]["bundle"]), args.serve_seconds) if args.serve_seconds else None
    table = report(runs, served)
    print(table)
    if args.record:
        settings = " (" + (", ".join(args.set) if args.set else "default settings") + ")"
        record("The whole build at MPD scale", "python bench/mpd.py " + " ".join(argv), settings, table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
