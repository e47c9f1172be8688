"""Spark sized for the machine: the driver heap when Python starts Spark, and an early refusal when it is too small."""

import pytest
from pydantic import ValidationError

from recsys.settings import SparkSettings
from recsys.spark.session import (
    AUTO_HEAP_SHARE,
    GIB,
    HEAP_BYTES_PER_ROW,
    check_driver_heap,
    driver_memory,
    machine_memory,
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
