"""jobs/evaluate.py's work: read a click log as the build does, split it, train every model on the training part
with the pipeline's own code, evaluate on the rest, and write the reports. No bundle is built.

The output folder is staged and renamed into place, so a failed run leaves the previous reports untouched.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys import schemas as S
from recsys.artifacts import new_version, staged_folder
from recsys.evaluation.protocol import run_evaluation
from recsys.evaluation.repeated import BASELINES, check_baselines, summarize, write_summary
from recsys.evaluation.report import write_reports
from recsys.io import InputSpec
from recsys.io.files import fingerprint, list_files
from recsys.layout import REJECTS
from recsys.matrices import read_playlist_names
from recsys.settings import Settings
from recsys.spark import idmap
from recsys.spark.ingest import read_validated
from recsys.spark.protocol import write_evaluation_split
from recsys.stages import stage

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def evaluate_log(
    spark: SparkSession,
    source: InputSpec,
    settings: Settings,
    output: Path,
    seeds: Sequence[int] = (),
    baselines: Sequence[str] = BASELINES,
) -> dict[str, Any]:
    """Write report.json, report.md, report.html, the charts and the input's rejects into ``output``, and return
    the report.

    With two or more ``seeds``: the split, fit and ranking once per seed (the input read once), each split's
    reports in ``output/seed-N``, and their summary (summary.json, summary.md; see repeated.py) in ``output``,
    which is returned. Otherwise the one split of ``evaluation.seed``.
    """
    input_files = list_files(spark, source.path)
    seeds = list(seeds) or [settings.evaluation.seed]
    with staged_folder(output) as staging:
        work = staging / "_work"
        with stage("read and validate input"):
            read, interactions, n_valid, n_rejected = read_validated(spark, source, settings, str(staging / REJECTS))
        with stage("id maps"):
            roster = read.roster(idmap.user_index(interactions))  # with the playlists' names, where the input has them
            for name, index in (("users", roster), ("items", idmap.item_index(interactions))):
                index.write.parquet(str(work / name))  # written once, so every later read sees the same indices
            users, items = spark.read.parquet(str(work / "users")), spark.read.parquet(str(work / "items"))
            indexed = idmap.apply_index(
                interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
            ).cache()
            n_users, n_items = users.count(), items.count()
            artist_of = idmap.artist_index(read.catalogue(items), n_items)
            names = read_playlist_names(work / "users")
        described = {
            "input": {**asdict(source), "fingerprint": fingerprint(input_files)},
            "counts": {"interactions": n_valid, "rejects": n_rejected, "users": n_users, "items": n_items},
        }
        reports = []
        for seed in seeds:
            seeded = settings.model_copy(update={"evaluation": settings.evaluation.model_copy(update={"seed": seed})})
            with stage(f"evaluation ({settings.evaluation.split} split, seed {seed})"):
                written = write_evaluation_split(indexed, seeded, work / f"seed-{seed}", n_users, n_items)
                run = run_evaluation(written, seeded, spark, artist_of, names)
                report = run.report
            reports.append(report | {"version": new_version()} | described)
            if len(seeds) > 1:
                check_baselines(report, list(baselines))
        indexed.unpersist()
        shutil.rmtree(work)
        if len(reports) == 1:
            write_reports(reports[0], staging)
            result = reports[0]
        else:
            for report in reports:
                write_reports(report, staging / f"seed-{report['seed']}")
            result = summarize(reports, list(baselines)) | described
            write_summary(result, source.path, staging)
    log.info("reports written to %s", output)
    return result
