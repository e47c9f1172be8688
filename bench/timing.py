"""What every benchmark here shares: best-of-N wall time, a description of the machine, and how results are
appended to docs/BENCHMARKS.md."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def best_of(*runs: Callable[[], object], repeats: int = 3) -> list[float]:
    """Best wall time of each run over ``repeats`` rounds, the runs taking turns within a round (a, b, a, b, ...):
    on shared cores the machine's speed drifts, and timing one run's repeats before the other's lets the drift
    favour one side. The first round also pays for warm-up (JIT, caches, page faults)."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, taken in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            taken.append(time.perf_counter() - start)
    return [min(taken) for taken in times]


def exponent(small: float, large: float, size_ratio: float) -> float:
    """The scaling exponent k of a measure that went from ``small`` to ``large`` as the input grew ``size_ratio``
    times: large / small = size_ratio ** k (1 is linear)."""
    return math.log(large / small) / math.log(size_ratio)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def proc_field(path: str, name: str) -> int:
    """The number after ``name`` in a /proc file (``VmRSS:`` in status, ``write_bytes:`` in io); 0 if gone."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    return sum(proc_field(f"/proc/{p}/status", "VmRSS:") * 1024 for p in process_tree(pid))


BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"


def section(title: str, command: str, conditions: str, body: str) -> str:
    """A dated docs/BENCHMARKS.md section: the command as run, this machine and conditions, the results."""
    return (
        f"\n## {title} ({datetime.now(UTC):%Y-%m-%d})\n\n"
        f"Command: `{command}`{conditions}\nMachine: {machine()}\n\n{body}\n"
    )


def record(title: str, command: str, conditions: str, body: str, target: Path = BENCHMARKS) -> None:
    """Append section(...) to docs/BENCHMARKS.md, or to ``target`` (docs/RELIABILITY.md for reliability/)."""
    with target.open("a") as handle:
        handle.write(section(title, command, conditions, body))
