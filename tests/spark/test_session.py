"""Spark sized for the machine: the driver heap when Python starts Spark, and an early refusal when it is too small."""

import logging

import pytest
from pydantic import ValidationError

from recsys.settings import SparkSettings
from recsys.spark.session import (
    AUTO_HEAP_SHARE,
    FREE_AFTER_RELEASE,
    GIB,
    HEAP_BYTES_PER_ROW,
    check_driver_heap,
    driver_memory,
    machine_memory,
    release_heap,
)


def test_auto_gives_local_mode_a_share_of_the_machine_and_a_cluster_spark_s_default():
    expected = max(1, int(machine_memory() * AUTO_HEAP_SHARE / GIB))
    assert driver_memory(SparkSettings()) == f"{expected}g"
    assert driver_memory(SparkSettings(master="local[2]")) == f"{expected}g"
    assert driver_memory(SparkSettings(master="yarn")) is None
    assert driver_memory(SparkSettings(master="yarn", driver_memory="6g")) == "6g"


@pytest.mark.parametrize("bad", ["8 GB", "0g", "lots", "8t"])
def test_a_heap_size_spark_would_not_read_is_refused(bad):
    with pytest.raises(ValidationError, match="driver_memory"):
        SparkSettings(driver_memory=bad)


@pytest.mark.spark
def test_a_local_heap_too_small_for_the_input_stops_early_naming_the_flag(spark):
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    check_driver_heap(spark, heap // HEAP_BYTES_PER_ROW)  # just enough: goes on
    with pytest.raises(ValueError, match=r"--driver-memory \d+g") as refused:
        check_driver_heap(spark, 2 * heap // HEAP_BYTES_PER_ROW)
    assert "spark.driver_memory" in str(refused.value)


@pytest.mark.spark
def test_python_started_spark_with_the_sized_heap(spark):
    """The test session was started by Python, so spark_session passed the auto heap to the JVM."""
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    configured = int(driver_memory(SparkSettings(master="local[2]"))[:-1]) * GIB
    assert 0.8 * configured <= heap <= configured  # the JVM reports a little less than -Xmx


@pytest.mark.spark
def test_a_finished_spark_phase_hands_the_driver_heap_back(spark, caplog):
    """The build calls release_heap where its models start training in Python: the JVM must not keep the pages
    its last stage touched (9 GiB of a 24 GiB machine at MPD size, docs/BENCHMARKS.md), nor the heap sizing it
    changed for that one collection."""
    from pyspark.sql import functions as F

    jvm = spark.sparkContext._jvm
    hotspot = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    ratios = [hotspot.getVMOption(name).getValue() for name in ("MinHeapFreeRatio", "MaxHeapFreeRatio")]
    rows = spark.range(6_000_000).select((F.col("id") % 600_000).cast("string").alias("u"), F.col("id").alias("i"))
    cached = rows.cache()  # a live table the collection must keep, as the build keeps its indexed log
    assert cached.groupBy("u").agg(F.collect_list("i").alias("l")).select(F.sum(F.size("l"))).first()[0] == 6_000_000
    runtime = jvm.java.lang.Runtime.getRuntime()
    grown = runtime.totalMemory()
    with caplog.at_level(logging.INFO, logger="recsys.spark.session"):
        release_heap(spark)
    live = runtime.totalMemory() - runtime.freeMemory()
    assert runtime.totalMemory() < grown / 2
    assert runtime.totalMemory() <= live / (1 - FREE_AFTER_RELEASE / 100) + 64 * 2**20  # one region's rounding
    assert [hotspot.getVMOption(name).getValue() for name in ("MinHeapFreeRatio", "MaxHeapFreeRatio")] == ratios
    assert cached.count() == 6_000_000
    cached.unpersist()
    assert "driver heap" in caplog.text
