"""The build: click log -> Spark tables -> every registered model -> evaluation -> one published bundle.

Spark does the work that grows with the log (recsys/spark/ingest.py) and writes Parquet into the staged bundle;
the models (recsys/registry.py) then stream that Parquet on the driver node; the evaluation splits in Spark
(recsys/spark/protocol.py) and ranks on the driver (recsys/evaluation/protocol.py). Nothing is live until
BundleWriter.publish flips LATEST.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recsys.artifacts import BundleWriter, described
from recsys.evaluation.protocol import NothingToEvaluate, publishes_evaluated, run_evaluation
from recsys.evaluation.report import write_reports
from recsys.index.written import write_index
from recsys.io import InputSpec
from recsys.layout import (
    INDEX_ITEMS_ALS,
    INDEX_ITEMS_ITEM2VEC,
    INDEX_ITEMS_ITEM2VEC_NEXT,
    INDEX_USERS_ITEM2VEC,
    ITEM2VEC_USER_VECTORS,
    ITEMS,
    REPORT,
    TITLE_MODEL,
    USERS,
)
from recsys.matrices import read_playlist_names, read_user_items
from recsys.models.title import TitleModel
from recsys.registry import fit_models, save_all, train_trees
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
        if settings.evaluation.enabled:
            with stage("evaluation"):
                artist_of = idmap.artist_index(spark.read.parquet(str(bundle.path(ITEMS))), paths.n_items)
                try:
                    names = read_playlist_names(bundle.path(USERS))
                    work = bundle.path("_evaluation")
                    written = write_evaluation_split(indexed, settings, work, paths.n_users, paths.n_items)
                    run = run_evaluation(written, settings, spark, artist_of, names)
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
                release_heap(spark)  # here, not after the tables: an evaluation's split would grow it again
                fitted = fit_models(paths, settings, spark)
                if settings.ranker.enabled:
                    # no evaluation ran: the trees learn from a split of the whole log (trees an evaluation
                    # declined are not trained again)
                    if report is None:
                        carved = write_ranker_split(
                            indexed, settings, bundle.path("_ranker"), paths.n_users, paths.n_items
                        )
                        trees, _ = train_trees(carved, settings, spark)
                        shutil.rmtree(bundle.path("_ranker"))
                    if trees is not None:
                        fitted = fitted.with_ranker(trees, paths, settings)
                user_items = fitted.history.user_items
            else:  # the evaluated models saw all but a sliver of the log: publish them, with the whole history
                fitted = evaluated
                user_items = read_user_items(paths.ratings, paths.n_users, paths.n_items)
                log.info(
                    "publishing the evaluated models: %d held-out pairs of %d",
                    report["test_pairs"],
                    spark_outputs.n_valid,
                )
            als, item2vec = fitted.als, fitted.item2vec
            with stage("user vectors"):
                user_vectors = item2vec.user_vectors(user_items, paths.sequences)
            title, names = None, read_playlist_names(bundle.path(USERS))
            if names is not None:
                with stage("title model"):
                    title = TitleModel(settings.title).fit(names, user_items)

        with stage("vectors and FAISS indexes"):
            with stage("vectors"):
                save_all(fitted.models, bundle.staging)
                np.save(bundle.path(ITEM2VEC_USER_VECTORS), user_vectors)
                if title is not None:
                    title.save(bundle.path(TITLE_MODEL))
            indexed_vectors = {
                INDEX_ITEMS_ALS: (als.item_factors_, "ip", als.user_factors_),
                INDEX_ITEMS_ITEM2VEC: (item2vec.item_vectors_, "cosine", item2vec.item_vectors_),
                INDEX_ITEMS_ITEM2VEC_NEXT: (item2vec.output_vectors_, "ip", item2vec.item_vectors_),
                INDEX_USERS_ITEM2VEC: (user_vectors, "cosine", user_vectors),
            }
            indexes = {}
            for path, (vectors, metric, queries) in indexed_vectors.items():
                with stage(f"index {path}"):
                    indexes[path] = write_index(bundle.path(path), vectors, metric, queries, settings.index)

        counts = {
            "interactions": spark_outputs.n_valid,
            "rejects": spark_outputs.n_rejected,
            "users": paths.n_users,
            "items": paths.n_items,
            "ratings": int(user_items.nnz),
        }
        return bundle.publish(
            described(
                settings.model_dump(mode="json"),
                asdict(request.source),
                spark_outputs.input_fingerprint,
                counts,
                evaluation=report and report["models"],
                indexes=indexes,
                item2vec_schedule={"epochs": item2vec.epochs_, "alpha": item2vec.alpha_},
                title=None if title is None else title.summary(),
                models_fitted_on="the whole log" if evaluated is None else "the evaluation's training part",
                stages=timeline,
            )
        )
