"""A Spark stage a user waits for says how far it is, in the log, while it runs."""

import logging
import time

import pytest

from recsys.spark.progress import SparkProgress
from recsys.stages import stage

pytestmark = pytest.mark.spark


def test_a_long_spark_stage_logs_its_tasks_done_while_it_runs(spark, caplog):
    def slow(batches):
        for batch in batches:
            time.sleep(0.4)
            yield batch

    caplog.set_level(logging.INFO, logger="recsys.progress")
    with SparkProgress(spark, every_s=0.3), stage("read and validate input"):
        spark.range(0, 8, numPartitions=8).mapInArrow(slow, "id long").count()
    lines = [r.getMessage() for r in caplog.records if r.name == "recsys.progress"]
    assert lines, "no progress line in a 1.6 s Spark job watched every 0.3 s"
    assert all(line.startswith("read and validate input: Spark tasks ") for line in lines), lines
    assert any("/8 done, 1 stage running" in line for line in lines), lines
