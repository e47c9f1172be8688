"""The steps a user waits for: each one logged when it starts and ends, and timed into the bundle's manifest.

The manifest's ``stages`` (name, start as Unix time, seconds) let a benchmark that samples the process from
outside (bench/mpd.py) attribute its memory and disk writes to the step that was running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

_path: ContextVar[tuple[str, ...]] = ContextVar("stage_path", default=())
_timeline: ContextVar[list[dict[str, Any]] | None] = ContextVar("stage_timeline", default=None)
#: The innermost stage running now, for what reports progress from another thread (recsys/spark/progress.py).
_running: list[str] = []


def running() -> str | None:
    """The name of the innermost stage running now, whichever thread asks."""
    return _running[-1] if _running else None


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log the start and the duration of ``name``; inside ``recording()``, add it to the timeline under the names
    of the stages around it (``evaluation / item2vec``). A stage that fails is logged by whoever handles the error."""
    path = (*_path.get(), name)
    token = _path.set(path)
    _running.append(name)
    log.info("%s ...", name)
    start, clock = time.time(), time.perf_counter()
    try:
        yield
    finally:
        _path.reset(token)
        _running.pop()
    seconds = time.perf_counter() - clock
    log.info("%s done in %.1f s", name, seconds)
    timeline = _timeline.get()
    if timeline is not None:
        timeline.append({"stage": " / ".join(path), "start": round(start, 3), "seconds": round(seconds, 3)})


@contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Collect the stages that finish inside this block, in the order they finish."""
    timeline: list[dict[str, Any]] = []
    token = _timeline.set(timeline)
    try:
        yield timeline
    finally:
        _timeline.reset(token)
