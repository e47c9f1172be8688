"""Offline evaluation: splits (computed in Spark, recsys.spark.tables), metrics, reports."""
