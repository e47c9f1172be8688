"""The bundle requests are answered from, and how it is replaced without failing a request.

Every request takes the current bundle once, at its start, and keeps that object until it answers; a reload builds
the new bundle off to the side and then swaps one reference. So requests in flight finish on the bundle they began
with, new ones see the new bundle, and a bundle that does not load or verify never replaces the one serving.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import Counter

from recsys import artifacts
from recsys.bundle.reader import LoadedBundle

log = logging.getLogger(__name__)


class NotReady(RuntimeError):
    """No bundle has loaded yet; the message says why."""


class Refused(RuntimeError):
    """A reload found a bundle that does not load or verify; the bundle serving before still serves."""


@dataclass(frozen=True)
class Reloaded:
    version: str
    previous: str | None
    changed: bool


class LiveBundle:
    """Holds the serving bundle of ``root/name``; ``reload`` moves it to the version LATEST names.

    ``loader`` turns a verified version folder into what requests read: a playlist bundle by default, an image
    bundle (recsys.bundle.images.ImageBundle) for the service's image side.
    """

    def __init__(self, root: str | Path, name: str, loader: Callable[[Path], Any] = LoadedBundle.load) -> None:
        self.root, self.name, self.loader = Path(root), name, loader
        self._live: tuple[LoadedBundle, float] | None = None  # the bundle and when it went live, swapped as one
        self.problem: str | None = "loading"  # why the latest load did not go live, until one does
        self.refused_version: str | None = None  # the watch does not retry a version that was refused
        self._reload = threading.Lock()  # one load at a time; requests never wait on it

    def ready(self) -> tuple[LoadedBundle, float]:
        """The serving bundle and the unix time it went live; NotReady, saying why, before the first."""
        live = self._live
        if live is None:
            raise NotReady(f"no bundle loaded yet: {self.problem}")
        return live

    @property
    def current(self) -> LoadedBundle:
        return self.ready()[0]

    def snapshot(self) -> tuple[LoadedBundle | None, float | None]:
        """The serving bundle and the unix time it went live, read together; (None, None) before the first."""
        live = self._live
        return (None, None) if live is None else live

    @property
    def version(self) -> str | None:
        bundle = self.snapshot()[0]
        return None if bundle is None else bundle.version

    def latest_version(self) -> str | None:
        """What LATEST names now, or None while nothing is published."""
        try:
            return artifacts.resolve(self.root, self.name).name
        except artifacts.BundleError:
            return None

    def reload(self) -> Reloaded:
        """Load and verify the version LATEST names, then swap it in; Refused (old bundle kept) if it fails.

        Blocking: call it from a worker thread, never on the event loop.
        """
        with self._reload:
            previous = self.version
            try:
                folder = artifacts.resolve(self.root, self.name)
            except artifacts.BundleError as exc:
                raise self._refused(None, str(exc)) from exc
            if folder.name == previous:
                return Reloaded(version=previous, previous=previous, changed=False)
            try:
                bundle = self.loader(folder)
            except Exception as exc:  # a corrupt Parquet file fails in polars, a bad index in FAISS: all refused
                raise self._refused(folder.name, f"{type(exc).__name__}: {exc}") from exc
            self._live, self.problem, self.refused_version = (bundle, time.time()), None, None
            log.info("now serving bundle %s (was %s)", bundle.version, previous)
            return Reloaded(version=bundle.version, previous=previous, changed=True)

    def _refused(self, version: str | None, reason: str) -> Refused:
        """Record and log a refusal; the caller raises what this returns. The log names the full paths; what
        clients read (/readyz, the reload's 409) names files inside the artifact root only (docs/security.md)."""
        self.refused_version = version
        serving = self.version
        public = self._without_root(reason)
        if serving is None:
            self.problem = public
        what = f"bundle {version}" if version else f"{self.name}/LATEST"
        log.error("refused %s: %s; still serving %s", what, reason, serving or "nothing")
        return Refused(f"{what} refused: {public}; still serving {serving or 'nothing'}")

    def _without_root(self, message: str) -> str:
        """``message`` with the artifact root's path cut from every path in it."""
        for root in sorted(
            {str(self.root.resolve()), str(self.root.absolute()), str(self.root)}, key=len, reverse=True
        ):
            message = message.replace(f"{root}/", "")
        return message


async def reload(live: LiveBundle, reloads: Counter) -> Reloaded:
    """Load what LATEST names in a worker thread (requests keep being answered meanwhile), counted in ``reloads``
    (serving/metrics.py's, labelled by result)."""
    try:
        result = await asyncio.to_thread(live.reload)
    except Refused:
        reloads.labels("refused").inc()
        raise
    reloads.labels("loaded" if result.changed else "unchanged").inc()
    return result


async def watch(live: LiveBundle, reloads: Counter, interval: float) -> None:
    """Reload whenever LATEST names a version that is neither serving nor already refused."""
    while True:
        await asyncio.sleep(interval)
        latest = live.latest_version()
        if latest is not None and latest not in (live.version, live.refused_version):
            with suppress(Refused):  # logged by the reload; the old bundle keeps serving
                await reload(live, reloads)
