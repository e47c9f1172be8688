"""The page's search box (GET /search, recsys/bundle/search.py) on a catalogue the size of the bench bundle's: what the
sorted-words index costs to build and hold, and what a keystroke costs, side by side with the full scan it avoids.

python bench/search.py [--items 1300000] [--record]

Titles are three words of a 2,000-word vocabulary and a number, artists one of 50,000; a query is typed letter by
letter, and every prefix is one request (as the page asks while someone types). The peer, in the same run: polars's
``str.contains`` over every title and artist, the full pass per keystroke the index exists to avoid.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import polars as pl
from timing import record

from recsys.bundle.search import SearchIndex

QUERIES = ("midnight blue", "artist 4711", "spotify:track:00a1", "summer fire 12")


def catalogue(n: int, seed: int = 0) -> tuple[list[str], pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(2000)] + ["midnight", "blue", "summer", "fire"])
    words = rng.choice(vocabulary, size=(n, 3))
    titles = [" ".join(row) + f" {i % 997}" for i, row in enumerate(words.tolist())]
    texts = pl.DataFrame({"title": titles, "artist": [f"artist {i}" for i in rng.integers(0, 50_000, n).tolist()]})
    ids = [f"spotify:track:{i:08x}" for i in range(n)]
    return ids, texts, rng.zipf(1.5, n).astype(np.float64)  # holders: a long tail, as play counts have


def keystrokes(query: str) -> list[str]:
    return [query[:end] for end in range(1, len(query) + 1)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_300_000)
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    ids, texts, holders = catalogue(args.items)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index = SearchIndex.of(ids, texts, holders)
    built_s = time.perf_counter() - start
    held_mib = (index.tokens.estimated_size() + index.rows.nbytes + index.weight.nbytes) / 2**20
    peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    typed = [prefix for query in QUERIES for prefix in keystrokes(query)]
    ours = []
    for prefix in typed:
        start = time.perf_counter()
        index.find(prefix, 10)
        ours.append(time.perf_counter() - start)
    scan = []
    searched = texts.with_columns(pl.Series("id", ids)).select(
        pl.concat_str("id", "title", "artist", separator=" ").str.to_lowercase().alias("text")
    )["text"]
    for prefix in typed[:: max(1, len(typed) // 12)]:  # the scan is slow: a sample of the same keystrokes
        start = time.perf_counter()
        np.flatnonzero(searched.str.contains(prefix, literal=True).to_numpy())
        scan.append(time.perf_counter() - start)
    p50, p99 = (1000 * np.percentile(ours, q) for q in (50, 99))
    scan_p50 = 1000 * np.percentile(scan, 50)
    body = "\n".join(
        [
            f"{args.items:,} items, {len(index.tokens):,} words; {len(typed)} keystrokes of {len(QUERIES)} queries.",
            "",
            "| | build s | held MiB | build peak MiB | keystroke p50 ms | keystroke p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
            f"| sorted words (recsys/bundle/search.py) | {built_s:.1f} | {held_mib:.0f} | {peak_mib:.0f} | {p50:.2f} | "
            f"{p99:.2f} |",
            f"| full scan (polars str.contains) | - | - | - | {scan_p50:.1f} | - |",
            "",
            f"A keystroke costs {scan_p50 / p50:.0f}x less than the scan at the median.",
        ]
    )
    print(body)
    if args.record:
        conditions = " (one process; the index built as the service builds it, once per bundle)"
        record("Search as you type (GET /search)", f"python bench/search.py {' '.join(argv)}", conditions, body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
