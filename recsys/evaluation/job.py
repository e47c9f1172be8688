"""jobs/evaluate.py's work: read a click log as the build does, split it, train every model on the training part
with the pipeline's own code, evaluate on the rest, and write the reports. No bundle is built.

The output folder is staged and renamed into place, so a failed run leaves the previous reports untouched.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from recsys import schemas as S
from recsys.artifacts import new_version, staged_folder
from recsys.evaluation.report import write_reports
from recsys.io import InputSpec
from recsys.layout import REJECTS
from recsys.pipeline import read_validated, run_evaluation, stage
from recsys.settings import Settings
from recsys.spark import idmap
from recsys.spark.files import fingerprint, list_files

log = logging.getLogger(__name__)


def evaluate_log(spark: SparkSession, source: InputSpec, settings: Settings, output: Path) -> dict[str, Any]:
    """Write report.json, report.md, report.html, the charts and the input's rejects into ``output``."""
    input_files = list_files(spark, source.path)
    with staged_folder(output) as staging:
        work = staging / "_work"
        with stage("read and validate input"):
            read, interactions, n_valid, n_rejected = read_validated(spark, source, settings, str(staging / REJECTS))
        with stage("id maps"):
            for name, index in (("users", idmap.user_index(interactions)), ("items", idmap.item_index(interactions))):
                index.write.parquet(str(work / name))  # written once, so every later read sees the same indices
            users, items = spark.read.parquet(str(work / "users")), spark.read.parquet(str(work / "items"))
            indexed = idmap.apply_index(
                interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
            ).cache()
            n_users, n_items = users.count(), items.count()
            artist_of = idmap.artist_index(read.catalogue(items), n_items)
        with stage(f"evaluation ({settings.evaluation.split} split)"):
            report = run_evaluation(indexed, settings, work, n_users, n_items, artist_of)
        report |= {
            "version": new_version(),
            "input": {**asdict(source), "fingerprint": fingerprint(input_files)},
            "counts": {"interactions": n_valid, "rejects": n_rejected, "users": n_users, "items": n_items},
        }
        indexed.unpersist()
        shutil.rmtree(work)
        write_reports(report, staging)
    log.info("reports written to %s", output)
    return report
