"""How far Spark's running jobs are, as a log line every ``every_s`` while they run: a stage a user waits minutes
for (reading a thousand MPD slices) says it is alive in a log file too, where Spark's own console bar, drawn in a
terminal only, never shows: ``read and validate input: Spark tasks 412/1,000 done, 1 stage running``."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from pyspark.sql import SparkSession

from recsys.stages import running

log = logging.getLogger("recsys.progress")


class SparkProgress:
    """Context manager: a daemon thread that logs the active Spark stages' tasks, done of all, every ``every_s``."""

    def __init__(self, spark: SparkSession, every_s: float = 15.0) -> None:
        self.spark, self.every_s = spark, every_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="spark-progress", daemon=True)

    def __enter__(self) -> SparkProgress:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopped.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stopped.wait(self.every_s):
            try:
                tracker = self.spark.sparkContext.statusTracker()
                stages = [info for i in tracker.getActiveStageIds() if (info := tracker.getStageInfo(i))]
            except Exception:  # Spark stopping (a failed or interrupted job): nothing left to report
                return
            if stages:
                done, total = sum(s.numCompletedTasks for s in stages), sum(s.numTasks for s in stages)
                plural = "stage" if len(stages) == 1 else "stages"
                log.info("%s: Spark tasks %s/%s done, %d %s running", running() or "Spark", f"{done:,}",
                         f"{total:,}", len(stages), plural)  # fmt: skip
