"""The build: click log -> Spark tables -> every registered model -> evaluation -> one published bundle.

Spark does the work that grows with the log (recsys/spark/ingest.py) and writes Parquet into the staged bundle;
the models (recsys/registry.py) then stream that Parquet on the driver node; the evaluation splits in Spark
(recsys/spark/protocol.py) and ranks on the driver (recsys/evaluation/protocol.py). Nothing is live until
BundleWriter.publish flips LATEST.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recsys.artifacts import BundleWriter, described
from recsys.bundle.default import measured_best
from recsys.evaluation.protocol import NothingToEvaluate, publishes_evaluated, run_evaluation
from recsys.evaluation.report import write_reports
from recsys.index.written import write_index
from recsys.io import InputSpec
from recsys.layout import ITEMS, REPORT, USERS
from recsys.matrices import read_playlist_names, read_user_items
from recsys.models.base import Inputs
from recsys.models.item2vec import Item2Vec
from recsys.models.title import TitleModel
from recsys.registry import fit_models, indexed_all, names, save_all, train_trees
from recsys.settings import Settings
from recsys.spark import idmap
from recsys.spark.ingest import run_spark_stages
from recsys.spark.protocol import write_evaluation_split, write_ranker_split
from recsys.spark.session import release_heap
from recsys.stages import recording, stage

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildRequest:
    source: InputSpec
    output: str
    name: str


def build_bundle(spark: SparkSession, request: BuildRequest, settings: Settings) -> Path:
    """Run the whole build and publish the bundle; returns its folder."""
    with BundleWriter(request.output, request.name) as bundle, recording() as timeline:
        spark_outputs = run_spark_stages(spark, request.source, settings, bundle.staging)
        indexed, paths = spark_outputs.indexed, spark_outputs.tables

        report, evaluated, trees = None, None, None
        playlist_names = read_playlist_names(bundle.path(USERS))  # None where the input named no playlist
        if settings.evaluation.enabled:
            with stage("evaluation"):
                artist_of = idmap.artist_index(spark.read.parquet(str(bundle.path(ITEMS))), paths.n_items)
                try:
                    work = bundle.path("_evaluation")
                    written = write_evaluation_split(indexed, settings, work, paths.n_users, paths.n_items)
                    run = run_evaluation(written, settings, spark, artist_of, playlist_names)
                except NothingToEvaluate as exc:
                    log.warning("no evaluation report in this bundle: %s", exc)
                else:
                    report = run.report | {"version": bundle.version, "input": asdict(request.source)}
                    trees = run.trees
                    write_reports(report, bundle.path(REPORT).parent)
                    if publishes_evaluated(report, spark_outputs.n_valid, settings.evaluation):
                        evaluated = run.fitted
            shutil.rmtree(bundle.path("_evaluation"))

        with stage("models on the full log"):
            if evaluated is None:
                if settings.ranker.enabled and report is None:
                    # no evaluation ran: the trees learn from a split of the whole log (trees an evaluation
                    # declined are not trained again)
                    carved = write_ranker_split(indexed, settings, bundle.path("_ranker"), paths.n_users, paths.n_items)
                    release_heap(spark)  # after the carving, which grows it again
                    trees, _ = train_trees(carved, settings, spark)
                    shutil.rmtree(bundle.path("_ranker"))
                else:
                    release_heap(spark)  # here, not after the tables: an evaluation's split would grow it again
                fitted = fit_models(paths, settings, spark, playlist_names, trees)
                whole = fitted.inputs
            else:  # the evaluated models saw all but a sliver of the log: publish them, with the whole history
                log.info(
                    "publishing the evaluated models: %d held-out pairs of %d",
                    report["test_pairs"],
                    spark_outputs.n_valid,
                )
                user_items = read_user_items(paths.ratings, paths.n_users, paths.n_items)
                whole = Inputs(paths, replace(evaluated.history, user_items=user_items), spark, playlist_names)
                fitted = evaluated.adding(TitleModel, whole, settings)  # the one model the evaluation needs not

        with stage("vectors and FAISS indexes"):
            with stage("vectors"):
                save_all(fitted.models, bundle.staging)
            indexes = {}
            for path, spec in indexed_all(fitted.models, whole).items():  # the users' vectors from the whole log
                if spec.saved_as is not None:
                    np.save(bundle.path(spec.saved_as), spec.vectors)
                with stage(f"index {path}"):
                    indexes[path] = write_index(
                        bundle.path(path), spec.vectors, spec.metric, spec.queries, settings.index
                    )

        item2vec, title = fitted.models[Item2Vec.name], fitted.models.get(TitleModel.name)
        served = [name for name in names() if name in fitted.models]
        e = settings.evaluation
        default = measured_best(served, report and report["models"], f"recall@{e.k}", e.split)
        counts = {
            "interactions": spark_outputs.n_valid,
            "rejects": spark_outputs.n_rejected,
            "users": paths.n_users,
            "items": paths.n_items,
            "ratings": int(whole.history.user_items.nnz),
        }
        return bundle.publish(
            described(
                settings.model_dump(mode="json"),
                asdict(request.source),
                spark_outputs.input_fingerprint,
                counts,
                evaluation=report and report["models"],
                indexes=indexes,
                default_model=asdict(default),
                item2vec_schedule={"epochs": item2vec.epochs_, "alpha": item2vec.alpha_},
                title=None if title is None else title.summary(),
                models_fitted_on="the whole log" if evaluated is None else "the evaluation's training part",
                stages=timeline,
            )
        )
