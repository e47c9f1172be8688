"""The build: click log -> Spark tables -> item2vec, ALS, FAISS -> evaluation -> one published bundle.

Spark does the work that grows with the log and writes Parquet into the staged bundle; models then stream
that Parquet on the driver node. Nothing is live until BundleWriter.publish flips LATEST.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession

from recsys import schemas as S
from recsys.artifacts import BundleWriter
from recsys.challenge import LIST_LENGTH
from recsys.evaluation.challenge import evaluate_challenge
from recsys.evaluation.offline import DEPTH, Evaluation, evaluate, format_table, sample_users
from recsys.evaluation.reference import ImplicitDirect
from recsys.evaluation.report import write_reports
from recsys.index import Metric, build_index, kind_of, save_index, search_breadth, tune_search_breadth
from recsys.io import InputSpec, ReadResult, UnreadableInput, check_reject_ratio, read_interactions, summarize_rejects
from recsys.layout import (
    ALS_ITEM_FACTORS,
    ALS_USER_FACTORS,
    COOCCURRENCE,
    EASE_WEIGHTS,
    INDEX_ITEMS_ALS,
    INDEX_ITEMS_ITEM2VEC,
    INDEX_ITEMS_ITEM2VEC_NEXT,
    INDEX_USERS_ITEM2VEC,
    ITEM2VEC_ITEM_VECTORS,
    ITEM2VEC_OUTPUT_VECTORS,
    ITEM2VEC_USER_VECTORS,
    ITEMS,
    RATINGS,
    REJECTS,
    REPORT,
    SEQUENCES,
    TITLE_MODEL,
    USERS,
)
from recsys.matrices import read_history, read_holdout, read_user_items
from recsys.models import ALS, EASE, Blend, CoOccurrence, History, Item2Vec, Popularity, Recommender, UserKNN
from recsys.models.confidence import Collection
from recsys.models.title import TitleModel
from recsys.settings import EvaluationSettings, Settings
from recsys.spark import idmap, splits, tables
from recsys.spark.als import fit_spark_als
from recsys.spark.files import fingerprint, list_files
from recsys.spark.session import check_driver_heap
from recsys.stages import recording, stage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildRequest:
    source: InputSpec
    output: str
    name: str


@dataclass(frozen=True)
class Tables:
    """Where one set of Spark tables was written, and the catalogue size they index into."""

    ratings: str
    sequences: str
    cooccurrence: str
    n_users: int
    n_items: int


def write_tables(interactions: DataFrame, settings: Settings, paths: Tables) -> None:
    """ratings, sequences and co-occurrence of ``interactions``, as Parquet at ``paths``."""
    tables.ratings(interactions).write.parquet(paths.ratings)
    tables.sequences(interactions).write.parquet(paths.sequences)
    seqs = interactions.sparkSession.read.parquet(paths.sequences)
    c = settings.cooccurrence
    tables.cooccurrence(seqs, c.window, c.top_n, c.max_pairs_per_playlist).write.parquet(paths.cooccurrence)


def fit_als(spark: SparkSession | None, paths: Tables, user_items: sp.csr_matrix, settings: Settings) -> ALS:
    """implicit on this node, or Spark MLlib on the cluster (als.backend=spark): the same factors either way."""
    if settings.als.backend == "spark":
        if spark is None:
            raise ValueError("als.backend=spark needs a Spark session")
        ratings = spark.read.parquet(paths.ratings)
        factors = fit_spark_als(ratings, paths.n_users, paths.n_items, settings.als, f"{paths.ratings}_checkpoints")
        return ALS.from_factors(settings.als, *factors)
    return ALS(settings.als).fit(user_items)


@dataclass(frozen=True)
class FittedModels:
    """Every model fitted on one set of tables, with the history they were fitted on."""

    history: History
    popularity: Popularity
    cooccurrence: CoOccurrence
    item2vec: Item2Vec
    als: ALS
    ease: EASE | None  # None where the catalogue is over ease.max_items
    user_knn: UserKNN
    blend: Blend

    def all(self) -> list[Recommender]:
        """Baselines first, as the evaluation report lists them."""
        ease = [self.ease] if self.ease is not None else []
        return [self.popularity, self.cooccurrence, self.item2vec, self.als, *ease, self.user_knn, self.blend]


def fit_models(spark: SparkSession | None, paths: Tables, settings: Settings) -> FittedModels:
    """Every model on one set of tables."""
    with stage("history"):
        history = read_history(
            paths.ratings, paths.sequences, paths.n_users, paths.n_items, settings.item2vec.context_items
        )
    with stage(f"ALS ({settings.als.backend})"):
        als = fit_als(spark, paths, history.user_items, settings)
    with stage("item2vec"):
        item2vec = Item2Vec(settings.item2vec).fit(paths.sequences, paths.n_items)
    with stage("co-occurrence"):
        cooc = CoOccurrence().fit(paths.cooccurrence, paths.n_items)
    ease = None
    if EASE.fits(settings.ease, paths.n_items):
        with stage("EASE"):
            ease = EASE(settings.ease).fit(history.user_items)
    popularity = Popularity().fit(history.user_items)
    with stage("user kNN"):
        user_knn = UserKNN(settings.user_knn).fit(history.user_items)
    blend = Blend.of([als, item2vec, cooc, *([ease] if ease is not None else []), user_knn], settings.blend)
    return FittedModels(history, popularity, cooc, item2vec, als, ease, user_knn, blend)


def holdout_fraction(e: EvaluationSettings, n_users: int) -> float:
    """``holdout_fraction``, shrunk so that about ``max_users`` of ``n_users`` are held out: a large log keeps all
    but a sliver for training, and the evaluation ranks only as many users as it reports on."""
    if not e.max_users or not n_users:
        return e.holdout_fraction
    return min(e.holdout_fraction, e.max_users / n_users)


def split_for_evaluation(interactions: DataFrame, e: EvaluationSettings, seed: int, n_users: int) -> splits.Split:
    """The split ``evaluation.split`` names, with the evaluation settings and ``seed``, of a log of ``n_users``."""
    fraction = holdout_fraction(e, n_users)
    if e.split == "random":
        return splits.random_items(interactions, e.holdout_share, fraction, e.min_items, seed)
    if e.split == "users":
        return splits.held_out_users(interactions, e.holdout_share, fraction, e.min_items, seed)
    if e.split == "temporal":
        return splits.temporal(interactions, e.holdout_share, fraction, seed)
    if e.split == "challenge":
        return splits.challenge(interactions, fraction, seed)
    return splits.last_items(interactions, e.holdout_items, fraction, e.min_items, seed)


def write_split(
    interactions: DataFrame, settings: Settings, work: Path, seed: int, n_users: int, n_items: int
) -> tuple[Tables, splits.Split]:
    """Write the held-out pairs of the configured split into ``work/holdout`` and the training part's tables.

    Returns the tables and the split, whose training interactions a validation split can be carved from in turn.
    """
    split = split_for_evaluation(interactions, settings.evaluation, seed, n_users)
    split.holdout.write.parquet(str(work / "holdout"))
    paths = Tables(str(work / "ratings"), str(work / "sequences"), str(work / "cooccurrence"), n_users, n_items)
    write_tables(split.train, settings, paths)
    return paths, split


def given_history(given: DataFrame, work: Path, train: History, settings: Settings) -> History:
    """The training history with the held-out users' given items added (split=users): what the models see of
    users they were not trained on."""
    n_users, n_items = train.user_items.shape
    tables.ratings(given).write.parquet(str(work / "given_ratings"))
    tables.sequences(given).write.parquet(str(work / "given_sequences"))
    shown = read_history(
        str(work / "given_ratings"), str(work / "given_sequences"), n_users, n_items, settings.item2vec.context_items
    )
    has_given = (shown.recent >= 0).any(axis=1, keepdims=True)
    return History((train.user_items + shown.user_items).tocsr(), np.where(has_given, shown.recent, train.recent))


@dataclass(frozen=True)
class EvaluationRun:
    """The report, and the models it evaluated (fitted on the training part of the split)."""

    report: dict[str, Any]
    fitted: FittedModels


class NothingToEvaluate(ValueError):
    """The split held nothing out: the log is too small for it (the build goes on without a report)."""


def run_evaluation(
    interactions: DataFrame,
    settings: Settings,
    work: Path,
    n_users: int,
    n_items: int,
    artist_of: np.ndarray | None = None,
    names: list[str | None] | None = None,
) -> EvaluationRun:
    """Split (evaluation.split), fit every model and implicit's own ALS (the external reference) on the training
    part, rank the held-out items side by side. Held-out users (split=users, challenge) are folded in from their
    given items: ALS solves their factors against the trained item factors, the others read their history.
    ``artist_of`` (see idmap.artist_index) adds the challenge's R-precision with artist credit; ``names`` (user_idx
    order) the title model, for the challenge split, which continues each playlist as jobs/challenge.py does."""
    e = settings.evaluation
    with stage("split and training tables"):
        paths, split = write_split(interactions, settings, work, e.seed, n_users, n_items)
    users, items = read_holdout(str(work / "holdout"))
    if not len(users):
        raise NothingToEvaluate(
            f"the {e.split} split held out nothing ({split.protocol}) from {n_users:,} users and {n_items:,} items"
        )
    held_out_users = len(np.unique(users))
    users, items = sample_users(users, items, e.max_users, e.seed)
    fitted = fit_models(interactions.sparkSession, paths, settings)
    with stage("implicit ALS with its defaults (reference)"):
        reference = ImplicitDirect(settings.als.seed).fit(fitted.history.user_items)
    history = fitted.history
    if split.given is not None:
        history = given_history(split.given, work, fitted.history, settings)
        test_users = np.unique(users)
        fitted.als.fold_in_users(test_users, history.user_items, Collection.of(fitted.history.user_items))
        reference.fold_in_users(test_users, history.user_items)
    by_category = None
    with stage("ranking"):
        if split.categories is None:
            result = evaluate([*fitted.all(), reference], history, users, items, e.k, artist_of=artist_of)
        else:
            result, by_category = _evaluate_challenge(
                split.categories, fitted, history, users, items, settings, names, artist_of
            )
    log.info("evaluation (%s) on %d held-out pairs:\n%s", split.protocol, len(users), format_table(result.metrics))
    report = {
        "split": e.split,
        "protocol": split.protocol,
        "seed": e.seed,
        "k": e.k,
        "depth": DEPTH if by_category is None else LIST_LENGTH,
        "test_users": len(np.unique(users)),
        "held_out_users": held_out_users,
        "test_pairs": len(users),
        "train_ratings": int(fitted.history.user_items.nnz),
        "models": result.metrics,
        "recall_curve": result.recall_curve,
        "config": settings.model_dump(mode="json"),
    }
    if by_category is not None:
        report["categories"] = by_category
    return EvaluationRun(report, fitted)


def _evaluate_challenge(
    categories: DataFrame,
    fitted: FittedModels,
    history: History,
    users: np.ndarray,
    items: np.ndarray,
    settings: Settings,
    names: list[str | None] | None,
    artist_of: np.ndarray | None = None,
) -> tuple[Evaluation, dict[str, Any]]:
    """The challenge split's ranking: the title model fitted on the training playlists' names (the held-out ones
    blanked), then every playlist continued by each model and by the blend (recsys/evaluation/challenge.py)."""
    category_of = {row[S.USER_IDX]: row["category"] for row in categories.collect()}
    title = None
    if names is not None:
        trained = [None if user in category_of else name for user, name in enumerate(names)]
        title = TitleModel(settings.title).fit(trained, fitted.history.user_items)
    return evaluate_challenge(
        fitted.blend.models, title, names or [None] * history.user_items.shape[0], settings.blend, history,
        users, items, category_of, settings.evaluation.k, artist_of,
    )  # fmt: skip


def publishes_evaluated(report: dict[str, Any], interactions: int, e: EvaluationSettings) -> bool:
    """Whether the evaluated models can be published as they are: they missed at most ``refit_above`` of the
    interactions, and no user was left out of their training (split=users, challenge)."""
    return e.split not in ("users", "challenge") and report["test_pairs"] <= e.refit_above * interactions


def read_validated(
    spark: SparkSession, source: InputSpec, settings: Settings, rejects_path: str
) -> tuple[ReadResult, DataFrame, int, int]:
    """Read the input, write its rejects to ``rejects_path``, and stop if too many rows were refused, or with
    UnreadableInput naming the input when Spark cannot read it at all."""
    try:
        result = read_interactions(spark, source, settings.input)
        result.rejects.write.parquet(rejects_path)
        rejects = spark.read.parquet(rejects_path)
        interactions = result.interactions.cache()
        reasons = summarize_rejects(rejects)
        n_valid, n_rejected = interactions.count(), sum(r.count for r in reasons)
    except (Py4JJavaError, PySparkException) as exc:
        raise UnreadableInput.of(source.path, source.format, exc) from exc
    check_reject_ratio(source.path, n_valid + n_rejected, reasons, settings.input.max_reject_ratio)
    check_driver_heap(spark, n_valid + n_rejected)
    if n_rejected:
        log.warning(
            "%d malformed rows set aside in %s: %s", n_rejected, rejects_path, {r.reason: r.count for r in reasons}
        )
    return result, interactions, n_valid, n_rejected


@dataclass(frozen=True)
class SparkOutputs:
    """What the Spark stages leave behind: indexed interactions (cached), the tables written, row counts."""

    indexed: DataFrame
    tables: Tables
    n_valid: int
    n_rejected: int
    input_fingerprint: str


def run_spark_stages(spark: SparkSession, source: InputSpec, settings: Settings, bundle: BundleWriter) -> SparkOutputs:
    """Everything whose cost grows with the log: read + validate, id maps, ratings, sequences, co-occurrence."""
    input_files = list_files(spark, source.path)  # a missing input stops here, named, whatever the format
    with stage("read and validate input"):
        result, interactions, n_valid, n_rejected = read_validated(spark, source, settings, str(bundle.path(REJECTS)))

    with stage("id maps"):
        users = idmap.user_index(interactions)
        items = idmap.item_index(interactions)
        result.roster(users).orderBy(S.USER_IDX).write.parquet(str(bundle.path(USERS)))
        catalogue = result.catalogue(items)
        catalogue.orderBy(S.ITEM_IDX).write.parquet(str(bundle.path(ITEMS)))
        users, items = spark.read.parquet(str(bundle.path(USERS))), spark.read.parquet(str(bundle.path(ITEMS)))
        n_users, n_items = users.count(), items.count()
        indexed = idmap.apply_index(
            interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
        ).cache()

    with stage("ratings, sequences, co-occurrence"):
        paths = Tables(
            str(bundle.path(RATINGS)), str(bundle.path(SEQUENCES)), str(bundle.path(COOCCURRENCE)), n_users, n_items
        )
        write_tables(indexed, settings, paths)
    return SparkOutputs(indexed, paths, n_valid, n_rejected, fingerprint(input_files))


def write_index(
    bundle: BundleWriter, path: str, vectors: np.ndarray, metric: Metric, queries: np.ndarray, settings: Settings
) -> dict[str, Any]:
    """Build and save one index; any but flat is checked against exact search on a sample of ``queries`` (an
    approximate one first sets its search breadth to the target recall), and records the recall it reached."""
    s = settings.index
    index = build_index(vectors, metric, s, queries)
    entry: dict[str, Any] = {"kind": kind_of(index), "vectors": len(vectors), "metric": metric}
    if entry["kind"] != "flat":
        sample = np.random.default_rng(0).choice(len(queries), min(len(queries), s.recall_queries), replace=False)
        entry["recall@10"] = tune_search_breadth(index, vectors, metric, queries[sample], s)
        entry |= search_breadth(index)
        log.info("%s: recall@10 against exact search on %d sampled queries: %s", path, len(sample), entry)
        if entry["recall@10"] < s.target_recall:
            log.warning(
                "%s: recall@10 %.3f is below index.target_recall %.2f: a wider search stopped paying or is not allowed",
                path,
                entry["recall@10"],
                s.target_recall,
            )
    save_index(index, bundle.path(path))
    return entry


def playlist_names(users: Path) -> list[str | None] | None:
    """Each user's name in user_idx order, or None where the input names no playlist (no title model then)."""
    table = pl.read_parquet(users / "*.parquet")
    if S.NAME not in table.columns or table[S.NAME].null_count() == len(table):
        return None
    return table.sort(S.USER_IDX)[S.NAME].to_list()


def build_bundle(spark: SparkSession, request: BuildRequest, settings: Settings) -> Path:
    """Run the whole build and publish the bundle; returns its folder."""
    with BundleWriter(request.output, request.name) as bundle, recording() as timeline:
        spark_outputs = run_spark_stages(spark, request.source, settings, bundle)
        indexed, paths = spark_outputs.indexed, spark_outputs.tables

        report, evaluated = None, None
        if settings.evaluation.enabled:
            with stage("evaluation"):
                artist_of = idmap.artist_index(spark.read.parquet(str(bundle.path(ITEMS))), paths.n_items)
                try:
                    names = playlist_names(bundle.path(USERS))
                    run = run_evaluation(
                        indexed, settings, bundle.path("_evaluation"), paths.n_users, paths.n_items, artist_of, names
                    )
                except NothingToEvaluate as exc:
                    log.warning("no evaluation report in this bundle: %s", exc)
                else:
                    report = run.report | {"version": bundle.version, "input": asdict(request.source)}
                    write_reports(report, bundle.path(REPORT).parent)
                    if publishes_evaluated(report, spark_outputs.n_valid, settings.evaluation):
                        evaluated = run.fitted
            shutil.rmtree(bundle.path("_evaluation"))

        with stage("models on the full log"):
            if evaluated is None:
                fitted = fit_models(spark, paths, settings)
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
            title, names = None, playlist_names(bundle.path(USERS))
            if names is not None:
                with stage("title model"):
                    title = TitleModel(settings.title).fit(names, user_items)

        with stage("vectors and FAISS indexes"):
            with stage("vectors"):
                np.save(bundle.path(ALS_USER_FACTORS), als.user_factors_)
                np.save(bundle.path(ALS_ITEM_FACTORS), als.item_factors_)
                np.save(bundle.path(ITEM2VEC_ITEM_VECTORS), item2vec.item_vectors_)
                np.save(bundle.path(ITEM2VEC_USER_VECTORS), user_vectors)
                np.save(bundle.path(ITEM2VEC_OUTPUT_VECTORS), item2vec.output_vectors_)
                if fitted.ease is not None:
                    fitted.ease.save(bundle.path(EASE_WEIGHTS))
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
                    indexes[path] = write_index(bundle, path, vectors, metric, queries, settings)

        manifest = {
            "config": settings.model_dump(mode="json"),
            "input": {**asdict(request.source), "fingerprint": spark_outputs.input_fingerprint},
            "counts": {
                "interactions": spark_outputs.n_valid,
                "rejects": spark_outputs.n_rejected,
                "users": paths.n_users,
                "items": paths.n_items,
                "ratings": int(user_items.nnz),
            },
            "evaluation": report and report["models"],
            "indexes": indexes,
            "item2vec_schedule": {"epochs": item2vec.epochs_, "alpha": item2vec.alpha_},
            "title": None if title is None else title.summary(),
            "models_fitted_on": "the whole log" if evaluated is None else "the evaluation's training part",
            "stages": timeline,
        }
        return bundle.publish(manifest)
