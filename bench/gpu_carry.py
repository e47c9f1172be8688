"""What a lent GPU machine needs to run ``bench/gpu.py`` on implicit's CUDA ALS, put where the device tool carries it.

python bench/gpu_carry.py [--shared ../shared/data]

A lent machine (docs/BENCHMARKS.md names the ones seen) has Python 3.12, torch on CUDA 13 with NVIDIA's CUDA 13
library wheels, numpy, scipy, pandas and pyarrow, reaches nothing on the network, and is sent at most 64 MiB
from here. This writes, into folders .gitignore keeps out of git:
- ``.whl/``: the wheels the ALS half of bench/gpu.py imports that its image lacks, for CPython 3.12 on x86-64:
  implicit with its CUDA extension, RMM at the release the gpu extra pins (the extension's ABI), and recsys's own
  settings libraries at this environment's versions. polars (54 MB) stays behind, hence ``--no-recommend-all``.
- ``.gpudata/``: yes_small's and yes_big's playlist x song counts as .npz, read the way the job reads them.
Then it prints the one command to hand the device tool, with ``carry: [".whl", ".gpudata"]`` (run on an H200,
2026-12-04: docs/BENCHMARKS.md). faiss-gpu (a 135
MB wheel before CUDA 12's cuBLAS) and Spark (pyspark 456 MB, and a Java runtime) cannot be sent, which is why
the whole build has not run on a lent GPU (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import scipy.sparse as sp
from models import ratings_matrix

REPO = Path(__file__).resolve().parent.parent
LIMIT = 64 << 20  # what the device tool sends, the working tree included
PINNED = ["implicit==0.7.3", "rmm-cu13==26.4.0", "librmm-cu13==26.4.0", "rapids-logger==0.3.0"]
FROM_HERE = ["pydantic", "pydantic-core", "pydantic-settings", "python-dotenv", "typing-inspection", "annotated-types"]
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_24_x86_64", "manylinux_2_28_x86_64"]
DEVICE_COMMAND = (
    "python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && "
    "PYTHONPATH=/tmp/site:. python3 bench/gpu.py --no-recommend-all --ratings .gpudata/*.npz --out $OUT/gpu.md"
)


def download(folder: Path) -> None:
    wanted = PINNED + [f"{name}=={importlib.metadata.version(name)}" for name in FROM_HERE]
    platforms = [flag for p in PLATFORMS for flag in ("--platform", p)]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", "3.12", "--implementation", "cp", *platforms, "--platform", "any"]
    subprocess.run([*command, "--dest", str(folder), *wanted], check=True)


def size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data", help="the real data")
    args = parser.parse_args(argv)
    wheels, data = REPO / ".whl", REPO / ".gpudata"
    for folder in (wheels, data):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    download(wheels)
    for name in ("yes_small", "yes_big"):
        sp.save_npz(data / f"{name}-ratings.npz", ratings_matrix(str(args.shared / name)))
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    tree = sum((REPO / f).stat().st_size for f in tracked.decode().split("\0") if f and (REPO / f).is_file())
    total = size(wheels) + size(data) + tree
    print(f"wheels {size(wheels) / 2**20:.1f} MiB, data {size(data) / 2**20:.1f} MiB, tree {tree / 2**20:.1f} MiB")
    if total > LIMIT:
        print(f"{total / 2**20:.1f} MiB is over the device tool's {LIMIT >> 20} MiB", file=sys.stderr)
        return 1
    print(f'carry: [".whl", ".gpudata"]\ncommand: {DEVICE_COMMAND}')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
