"""Image embedding throughput: the job's path against the backbone alone, in the same run.

python bench/images.py [--images ../shared/data/flowers5] [--device cpu|cuda] [--repeat N] [--batch-size B]
                       [--spark] [--record] [--out FILE]

- backbone alone: EfficientNet-Lite0's pooled features on the same photos, decoded and cropped before the
  clock starts, batches of images.batch_size; images per second after one warm-up batch.
- embed_files: what every Spark task runs (decode from bytes, EXIF, RGB, resize, crop, normalise, then the
  same batches), one process, same images.
- --spark: jobs/index_images.py end to end on --repeat copies of the folder (Spark local[*], listing, reading,
  embedding in the Python workers, FAISS), wall time of the whole job and of its embedding stage alone; the
  stage includes each executor's one-time start (Python worker, torch import, weights: ~5 s here).
The overhead target (issue 7) is the job's embedding at >= 85% of the backbone's images per second on the CPU.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import best_of, record, section

REPO = Path(__file__).resolve().parent.parent


def spark_env() -> dict[str, str]:
    """spark-submit finds its launcher and the executors' Python through PATH and PYSPARK_PYTHON."""
    venv = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", "PYSPARK_PYTHON": sys.executable}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, default=REPO.parent / "shared" / "data" / "flowers5")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1, help="pass over the images this many times")
    parser.add_argument("--batch-size", type=int, help="default: images.batch_size")
    parser.add_argument("--decode-threads", type=int, help="default: images.decode_threads")
    parser.add_argument("--spark", action="store_true", help="also time jobs/index_images.py end to end")
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    parser.add_argument("--out", type=Path, help="write the results as a BENCHMARKS.md section here")
    args = parser.parse_args(argv)

    import torch

    from recsys.images.backbone import load_backbone
    from recsys.images.decode import Limits, open_rgb, preprocess
    from recsys.images.embed import decode_threads, embed_files
    from recsys.settings import ImagesSettings

    chosen = {"batch_size": args.batch_size, "decode_threads": args.decode_threads}
    s = ImagesSettings(**{key: value for key, value in chosen.items() if value is not None})
    files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    data = [(str(p), p.read_bytes()) for p in files] * args.repeat
    n = len(data)
    model = load_backbone(s.backbone, args.device)
    limits = Limits(s.max_bytes, s.max_pixels)
    # the peer runs on the same photos, preprocessed ahead: the network's speed depends on its input (random
    # tensors ran up to 1.6x slower than photos on the CPU), so synthetic input would flatter the job
    pixels = np.stack([preprocess(open_rgb(content, limits)[0]) for _, content in data[: len(files)]])
    batches = [pixels[i : i + s.batch_size] for i in range(0, len(pixels), s.batch_size)] * args.repeat
    model.embed(batches[0])  # warm-up: kernels, allocator

    def backbone_only() -> None:
        for batch in batches:
            model.embed(batch)
        if args.device == "cuda":
            torch.cuda.synchronize()

    def job_path() -> None:
        embedded = embed_files(data, s.backbone, args.device, s.batch_size, limits, s.decode_threads)
        assert sum(1 for e in embedded if e.vector is not None) == n

    raw_s, ours_s = best_of(backbone_only, job_path)
    raw, ours = n / raw_s, n / ours_s
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} torch threads"
    rows = [
        f"| {n:,} images ({args.images.name}), batch {s.batch_size}, {device}, "
        f"{decode_threads(s.decode_threads, args.device)} decoding thread(s) | backbone alone {raw:,.1f} images/s "
        f"| embed_files (decode + preprocess + backbone) {ours:,.1f} images/s | {100 * ours / raw:.0f}% |"
    ]
    if args.spark:
        with tempfile.TemporaryDirectory() as out:
            folder = Path(out) / "images"
            for copy in range(args.repeat):  # --repeat copies, so the job embeds as many images as the peers
                shutil.copytree(args.images, folder / f"copy{copy}")
            start = time.perf_counter()
            job = subprocess.run(
                [str(Path(sys.executable).parent / "spark-submit"), str(REPO / "jobs" / "index_images.py"),
                 "--images", str(folder), "--output", out, "--name", "bench"],
                capture_output=True, text=True, check=True, env=spark_env(),
            )  # fmt: skip
            wall = time.perf_counter() - start
        stage = re.search(r"read and embed images .* done in ([0-9.]+) s", job.stdout + job.stderr)
        embed_s = float(stage.group(1)) if stage else float("nan")
        rows.append(
            f"| jobs/index_images.py, {n:,} images, Spark local[*] ({os.cpu_count()} cores) | "
            f"embedding stage {n / embed_s:,.1f} images/s ({embed_s:.1f} s) | whole job {wall:.1f} s "
            f"(JVM start, listing, FAISS) | {100 * n / embed_s / raw:.0f}% of backbone alone |"
        )
    table = "\n".join(["| what | peer: backbone | ours | ours / peer |", "|---|---|---|---|", *rows])
    print(table)
    command = f"python bench/images.py {' '.join(argv)}"
    if args.out:
        args.out.write_text(section("Image embedding throughput", command, "", table))
    if args.record:
        record("Image embedding throughput", command, "", table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
