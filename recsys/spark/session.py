"""The one place a SparkSession is configured, and sized for the machine when Python starts Spark itself."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from recsys.settings import SparkSettings, conf_dir

log = logging.getLogger(__name__)

#: Driver heap per input row that local mode needs: 1 GiB carried 6.5M rows through every Spark stage and ran out
#: in the co-occurrence stage at 66M, where 8 GiB held (docs/scaling.md); 128 bytes per row sits between the two.
HEAP_BYTES_PER_ROW = 128
#: Share of the machine's memory "auto" gives the local-mode driver heap: the rest is for Spark's Python workers and
#: the driver beside it; the models train after release_heap has handed the heap back.
AUTO_HEAP_SHARE = 0.4
#: Percent of the heap left free after release_heap's collection: the live set plus a little.
FREE_AFTER_RELEASE = 10
GIB = 1 << 30


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit where that is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = Path("/sys/fs/cgroup/memory.max")
    if limit.is_file() and limit.read_text().strip().isdigit():
        total = min(total, int(limit.read_text()))
    return total


def is_local(master: str) -> bool:
    """Local mode: the driver JVM runs every task, so its heap bounds every aggregation."""
    return master in ("", "local") or master.startswith("local[")


def driver_memory(settings: SparkSettings) -> str | None:
    """The -Xmx Spark gets when Python starts it: the setting, or for ``auto`` in local mode a share of the machine
    (None: leave Spark's own default, as on a cluster, whose driver holds no data)."""
    if settings.driver_memory != "auto":
        return settings.driver_memory
    if not is_local(settings.master):
        return None
    return f"{max(1, int(machine_memory() * AUTO_HEAP_SHARE / GIB))}g"


def spark_session(settings: SparkSettings) -> SparkSession:
    """Get or create the session. ``settings.master`` is applied only when set, so spark-submit's --master wins.

    When Python starts Spark (``python jobs/...``, not spark-submit), it also sizes the driver heap
    (``spark.driver_memory``) and runs the executors' Python workers on this interpreter, so a job works from a
    virtual environment that was never activated."""
    builder = (
        SparkSession.builder.appName(settings.app_name)
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.sql.execution.bypassPartialAggregation", str(settings.bypass_partial_aggregation).lower())
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())  # a bar in a terminal only
    )
    if settings.master:
        builder = builder.master(settings.master)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # no JVM yet: spark-submit did not start this process
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        heap = driver_memory(settings)
        if heap:
            builder = builder.config("spark.driver.memory", heap)
        log4j = conf_dir() / "log4j2.properties"
        if log4j.is_file():  # the quiet console spark-submit gets from the Makefile's --driver-java-options
            option = f"-Dlog4j2.configurationFile={log4j.resolve()}"
            builder = builder.config("spark.driver.extraJavaOptions", option)
            builder = builder.config("spark.executor.extraJavaOptions", option)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark


def release_heap(spark: SparkSession) -> None:
    """Collect the driver JVM's heap in full and shrink it to what is still live (cached tables, metadata), handing
    the rest back to the system.

    Called where a Spark phase has written its tables and the models that read them train in Python: without it
    the JVM keeps every page its stages touched (a local-mode driver's whole heap, 9 GiB of a 24 GiB machine at MPD
    size) through hours of training beside it. G1 gives pages back only in a full collection, and then keeps up to
    MaxHeapFreeRatio (70%) of the heap free, so a few GiB of cached tables would hold the whole heap: the ratio is
    lowered for this one collection and put back, and the next stage grows the heap as it needs."""
    jvm = spark.sparkContext._jvm
    runtime = jvm.java.lang.Runtime.getRuntime()  # type: ignore[union-attr]
    hotspot = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(  # type: ignore[union-attr]
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")  # type: ignore[union-attr]
    )
    kept = {name: hotspot.getVMOption(name).getValue() for name in ("MinHeapFreeRatio", "MaxHeapFreeRatio")}
    before = runtime.totalMemory()
    hotspot.setVMOption("MinHeapFreeRatio", "0")  # in this order: the JVM refuses a minimum above the maximum
    hotspot.setVMOption("MaxHeapFreeRatio", str(FREE_AFTER_RELEASE))
    try:
        jvm.java.lang.System.gc()  # type: ignore[union-attr]
    finally:
        hotspot.setVMOption("MaxHeapFreeRatio", kept["MaxHeapFreeRatio"])
        hotspot.setVMOption("MinHeapFreeRatio", kept["MinHeapFreeRatio"])
    log.info(
        "driver heap: %.1f GiB committed before a full collection, %.1f GiB after",
        before / GIB,
        runtime.totalMemory() / GIB,
    )


def check_driver_heap(spark: SparkSession, rows: int) -> None:
    """Stop early, naming the flag, when a local-mode driver's heap is too small for ``rows`` input rows: without
    this the job runs out of memory in the co-occurrence stage, a quarter of an hour in."""
    if not is_local(spark.sparkContext.master):
        return
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()  # type: ignore[union-attr]
    needed = rows * HEAP_BYTES_PER_ROW
    if heap < needed:
        size = f"{-(-needed // GIB)}g"
        raise ValueError(
            f"{rows:,} input rows need a driver heap of about {needed / GIB:.1f} GiB in local mode and this one has "
            f"{heap / GIB:.1f} GiB: run spark-submit with --driver-memory {size}, or start the job with python, "
            f"which sizes the heap itself (spark.driver_memory, now 'auto': {AUTO_HEAP_SHARE:.0%} of this machine)"
        )
