"""The one place a SparkSession is configured."""

from __future__ import annotations

from pyspark.sql import SparkSession

from recsys.settings import SparkSettings


def spark_session(settings: SparkSettings) -> SparkSession:
    """Get or create the session. ``settings.master`` is applied only when set, so spark-submit's --master wins."""
    builder = (
        SparkSession.builder.appName(settings.app_name)
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.sql.execution.bypassPartialAggregation", str(settings.bypass_partial_aggregation).lower())
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if settings.master:
        builder = builder.master(settings.master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark
