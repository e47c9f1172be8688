"""Embedding image files in batches where they are read: inside Spark's Python workers, or in the service.

``embed_files`` is the whole per-partition step of the job: decode each file (or say why not), stack the good
ones into batches of ``batch_size`` and run the backbone once per batch. The backbone is loaded once per process
(``load_backbone`` is cached), so an executor pays for it once, not once per batch or per task.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice

import numpy as np

from recsys.images.backbone import load_backbone
from recsys.images.decode import ImageRejected, Limits, open_rgb, preprocess, thumbnail


@dataclass(frozen=True)
class Embedded:
    """One input file: its vector (None when rejected), the reason it was rejected, and what was measured."""

    path: str
    sha256: str
    width: int
    height: int
    vector: np.ndarray | None
    reason: str | None
    thumbnail: bytes | None = None  # a small JPEG for the service's page (decode.thumbnail)


def resolve_device(device: str) -> str:
    """``auto``: CUDA where torch sees a GPU, else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def decode_threads(setting: int, device: str) -> int:
    """``images.decode_threads``; 0 (auto): one on the CPU, where the network needs the cores, and every core when
    a GPU runs the network, which a single decoding thread leaves idle (measured on an H100: 8-11% busy)."""
    if setting:
        return setting
    return (os.cpu_count() or 1) if device == "cuda" else 1


#: path, sha256, the file's (width, height) or why it cannot be read, its pixels for the network, its thumbnail
Decoded = tuple[str, str, tuple[int, int] | ImageRejected, np.ndarray | None, bytes | None]


def _decoded(path: str, data: bytes, limits: Limits) -> Decoded:
    digest = hashlib.sha256(data or b"").hexdigest()
    try:
        image, size = open_rgb(data, limits)
        return path, digest, size, preprocess(image), thumbnail(image)
    except ImageRejected as exc:
        return path, digest, exc, None, None


def _decode_all(files: Iterable[tuple[str, bytes]], limits: Limits, threads: int, chunk: int) -> Iterator[Decoded]:
    """_decoded for every file, in order; PIL's decoding and resizing release the GIL, so threads run in parallel."""
    if threads <= 1:
        yield from (_decoded(path, data, limits) for path, data in files)
        return
    files = iter(files)
    with ThreadPoolExecutor(threads) as pool:
        while part := list(islice(files, chunk)):  # bounded: never more than ``chunk`` files in flight
            yield from pool.map(lambda file: _decoded(*file, limits), part)


def embed_files(
    files: Iterable[tuple[str, bytes]],
    backbone: str,
    device: str,
    batch_size: int,
    limits: Limits,
    threads: int = 0,
) -> Iterator[Embedded]:
    """Every (path, bytes) as an Embedded, in input order within each batch, rejects included; ``threads``
    decode in parallel (decode_threads)."""
    device = resolve_device(device)
    model = None
    pending: list[tuple[str, str, int, int, np.ndarray, bytes | None]] = []

    def flush() -> Iterator[Embedded]:
        nonlocal model
        model = model or load_backbone(backbone, device)
        vectors = model.embed(np.stack([p[4] for p in pending]))
        for (path, digest, width, height, _, small), vector in zip(pending, vectors, strict=True):
            yield Embedded(path, digest, width, height, vector, None, small)
        pending.clear()

    for path, digest, size, pixels, small in _decode_all(
        files, limits, decode_threads(threads, device), 4 * batch_size
    ):
        if isinstance(size, ImageRejected):
            yield Embedded(path, digest, 0, 0, None, str(size))
            continue
        pending.append((path, digest, *size, pixels, small))
        if len(pending) >= batch_size:
            yield from flush()
    if pending:
        yield from flush()
