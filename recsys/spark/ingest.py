"""The build's Spark stages, everything whose cost grows with the log: read and validate the input (rejects set
aside), id maps, and the ratings, sequences, co-occurrence and transitions tables the models are fitted on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession

from recsys import schemas as S
from recsys.io import InputSpec, ReadResult, UnreadableInput, check_reject_ratio, read_interactions, summarize_rejects
from recsys.io.files import fingerprint, list_files
from recsys.layout import ITEMS, REJECTS, USERS, Tables
from recsys.settings import Settings
from recsys.spark import idmap, tables
from recsys.spark.session import check_driver_heap
from recsys.stages import stage

log = logging.getLogger(__name__)


def write_tables(interactions: DataFrame, settings: Settings, paths: Tables) -> None:
    """ratings, sequences, co-occurrence and transitions of ``interactions``, as Parquet at ``paths``."""
    tables.ratings(interactions).write.parquet(paths.ratings)
    tables.sequences(interactions).write.parquet(paths.sequences)
    seqs = interactions.sparkSession.read.parquet(paths.sequences)
    c = settings.cooccurrence
    tables.cooccurrence(seqs, c.window, c.top_n, c.max_pairs_per_playlist).write.parquet(paths.cooccurrence)
    r = settings.sequential
    tables.transitions(seqs, r.window, r.top_n, r.max_pairs_per_playlist).write.parquet(paths.transitions)


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


def run_spark_stages(spark: SparkSession, source: InputSpec, settings: Settings, folder: Path) -> SparkOutputs:
    """Read + validate, id maps, ratings, sequences, co-occurrence, transitions: written into the staged bundle
    ``folder``."""
    input_files = list_files(spark, source.path)  # a missing input stops here, named, whatever the format
    with stage("read and validate input"):
        result, interactions, n_valid, n_rejected = read_validated(spark, source, settings, str(folder / REJECTS))

    with stage("id maps"):
        users = idmap.user_index(interactions)
        items = idmap.item_index(interactions)
        result.roster(users).orderBy(S.USER_IDX).write.parquet(str(folder / USERS))
        catalogue = result.catalogue(items)
        catalogue.orderBy(S.ITEM_IDX).write.parquet(str(folder / ITEMS))
        users, items = spark.read.parquet(str(folder / USERS)), spark.read.parquet(str(folder / ITEMS))
        n_users, n_items = users.count(), items.count()
        indexed = idmap.apply_index(
            interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
        ).cache()

    with stage("ratings, sequences, co-occurrence, transitions"):
        paths = Tables.of(folder, n_users, n_items)
        write_tables(indexed, settings, paths)
    return SparkOutputs(indexed, paths, n_valid, n_rejected, fingerprint(input_files))
