"""Image uploads against a worker's memory: concurrent worst-case uploads, this checkout's service beside another
commit's in the same run.

python bench/uploads.py [--concurrent 16] [--against 87ffcc8] [--work data/uploads] [--record]

An image-only service (one uvicorn worker, as `python -m serving` runs it) serves a small image bundle that
jobs/index_images.py builds once under --work. One ordinary upload warms it (torch and the backbone load on the
first upload); then the worker's peak resident memory is reset (/proc/PID/clear_refs) and --concurrent clients
post the same worst-case image at once. Reported per image: the answers' statuses, the slowest answer, the
worker's peak RSS above its RSS before the burst (VmHWM - VmRSS, from /proc), and its RSS afterwards. The images
sit just under this checkout's pixel cap (serving.upload_memory_mb's): a palette PNG with transparency (the issue's
5 KB file) and an RGBA PNG. The peer is the service as it was at --against, from a git worktree, on the same bundle.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image
from serve_load import Server
from timing import proc_field, record

from recsys.settings import load_settings
from serving.limits import upload_limits

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20


def worst_cases(max_pixels: int) -> dict[str, bytes]:
    """The two costliest shapes to decode, each just under ``max_pixels``: few bytes, many pixels."""
    width = 6400
    height = max_pixels // width
    palette = Image.new("P", (width, height), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] * 128)
    rgba = Image.linear_gradient("L").resize((width, height)).convert("RGBA")
    images = {}
    for name, image, options in [
        (f"palette PNG with transparency, {width}x{height}", palette, {"transparency": 0, "optimize": True}),
        (f"RGBA PNG, {width}x{height}", rgba, {"compress_level": 9}),
    ]:
        out = io.BytesIO()
        image.save(out, "PNG", **options)
        images[name] = out.getvalue()
    return images


def image_bundle(work: Path) -> Path:
    """The artifact root of a small image bundle ("pictures"), built once."""
    root = work / "artifacts"
    if (root / "pictures" / "LATEST").is_file():
        return root
    pictures = work / "pictures"
    pictures.mkdir(parents=True, exist_ok=True)
    for i in range(8):
        Image.linear_gradient("L").rotate(45 * i).convert("RGB").save(pictures / f"gradient-{i}.png")
    job = [str(REPO / "jobs" / "index_images.py"), "--images", str(pictures), "--output", str(root)]
    subprocess.run([sys.executable, *job, "--name", "pictures"], check=True, cwd=REPO)
    return root


def burst(base: str, data: bytes, concurrent: int) -> tuple[list[int], float]:
    """``concurrent`` clients post ``data`` at the same moment: their statuses and the slowest answer's seconds."""
    statuses: list[int] = []
    start = threading.Barrier(concurrent)
    began = time.perf_counter()

    def post() -> None:
        start.wait()
        files = {"file": ("upload.png", data, "image/png")}
        try:
            statuses.append(httpx.post(f"{base}/similar-images", files=files, timeout=300).status_code)
        except httpx.TransportError:
            statuses.append(0)

    threads = [threading.Thread(target=post) for _ in range(concurrent)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, time.perf_counter() - began


def measure(root: Path, cwd: Path, data: bytes, warm: bytes, concurrent: int) -> dict:
    """One fresh service (its code from ``cwd``): warmed by one upload, then one burst."""
    command = [sys.executable, "-m", "serving", "--artifacts", str(root), "--images-name", "pictures"]
    server = Server([*command, "--no-access-log"], "/readyz", cwd=cwd)
    try:
        files = {"file": ("warm.png", warm, "image/png")}
        assert httpx.post(f"{server.base}/similar-images", files=files, timeout=120).status_code == 200
        pid = server.process.pid
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        before = proc_field(f"/proc/{pid}/status", "VmRSS:") * 1024
        statuses, seconds = burst(server.base, data, concurrent)
        peak = proc_field(f"/proc/{pid}/status", "VmHWM:") * 1024
        after = proc_field(f"/proc/{pid}/status", "VmRSS:") * 1024
    finally:
        server.stop()
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    return {"statuses": counts, "seconds": seconds, "rise": peak - before, "before": before, "after": after}


def worktree(commit: str, folder: Path) -> Path:
    path = folder / f"at-{commit}"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=REPO, check=True,
                   capture_output=True)  # fmt: skip
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=16, help="uploads at once (default: %(default)s)")
    parser.add_argument("--against", default="87ffcc8", help="the commit whose service runs beside this one")
    parser.add_argument("--work", type=Path, default=REPO / "data" / "uploads", help="where the bundle is built")
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.against}^{{commit}}"], cwd=REPO,
                           capture_output=True)  # fmt: skip
    if found.returncode != 0:
        parser.error(f"--against {args.against}: no such commit here (a hash or branch, e.g. main)")
    settings = load_settings()
    limits = upload_limits(settings)
    root = image_bundle(args.work)
    warm = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(warm, "PNG")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        peer = worktree(args.against, Path(scratch))
        try:
            for name, data in worst_cases(limits.max_pixels).items():
                for who, cwd in (("this checkout", REPO), (args.against, peer)):
                    m = measure(root, cwd, data, warm.getvalue(), args.concurrent)
                    statuses = ", ".join(f"{count} x {status}" for status, count in m["statuses"].items())
                    rows.append(
                        f"| {name} ({len(data) / 1024:,.0f} KB) | {who} | {statuses} | {m['seconds']:.1f} s | "
                        f"{m['rise'] / MIB:,.0f} MiB | {m['before'] / MIB:,.0f} -> {m['after'] / MIB:,.0f} MiB |"
                    )
                    print(rows[-1], flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(peer)], cwd=REPO, check=False)
    s = settings.serving
    body = "\n".join(
        [
            f"{args.concurrent} uploads at once. This checkout: serving.upload_memory_mb={s.upload_memory_mb}, "
            f"upload_decodes={s.upload_decodes}, upload_wait_s={s.upload_wait_s:g}, so a pixel cap of "
            f"{limits.max_pixels:,} (images.max_pixels {settings.images.max_pixels:,}).",
            "",
            "| upload | service | answers | slowest | peak RSS rise | RSS before -> after |",
            "|---|---|---|---:|---:|---:|",
            *rows,
        ]
    )
    print(body)
    if args.record:
        command = f"python bench/uploads.py --concurrent {args.concurrent} --against {args.against} --record"
        record("Image uploads against a worker's memory", command, "", body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
