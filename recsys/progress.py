"""Progress of long loops as log lines with rate and time left: readable in a terminal and in a log file alike.

A bar redrawn with carriage returns turns a CI log into noise, so a loop that runs longer than ``after_s`` logs
one line at most every ``every_s`` (and its last step): ``ALS: 6/15 iterations, 41.2 s each, about 6.2 min
left``. Quick loops log nothing.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("recsys.progress")


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Call ``advance()`` after each of ``total`` steps of ``what``."""

    def __init__(self, what: str, total: int, unit: str, every_s: float = 10.0, after_s: float = 5.0) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.every_s, self.after_s = every_s, after_s
        self.done = 0
        self.start = self.last = time.perf_counter()

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        now = time.perf_counter()
        elapsed = now - self.start
        finished = self.done >= self.total
        if elapsed < self.after_s or (now - self.last < self.every_s and not finished):
            return
        self.last = now
        each = elapsed / max(self.done, 1)
        left = "done" if finished else f"about {duration(each * (self.total - self.done))} left"
        rate = f"{each:.1f} s each" if each >= 1 else f"{1 / each:,.0f} {self.unit}/s"
        log.info("%s: %s/%s %s, %s, %s", self.what, f"{self.done:,}", f"{self.total:,}", self.unit, rate, left)
