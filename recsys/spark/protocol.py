"""The evaluation's Spark half: the split ``evaluation.split`` names, written as the tables the models are fitted
on, the held-out pairs and what the held-out users show the models. recsys/evaluation/protocol.py fits and ranks
on what this writes; nothing it returns is a Spark object."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame

from recsys import schemas as S
from recsys.layout import RankerSplit, SplitTables, Tables
from recsys.settings import EvaluationSettings, RankerSettings, Settings
from recsys.spark import splits, tables
from recsys.spark.ingest import write_tables
from recsys.spark.session import release_heap
from recsys.stages import stage


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
    paths = Tables.of(work, n_users, n_items)
    write_tables(split.train, settings, paths)
    return paths, split


def ranker_labels(e: EvaluationSettings, r: RankerSettings) -> EvaluationSettings:
    """How the ranker's labels are carved: as the evaluation carves its test, so the trees learn the task they are
    scored on (taught next items, they ranked MovieLens's random held-out items at a third of the blend's recall:
    docs/models.md), from up to ``ranker.users`` users. split=users keeps the evaluation's share of users out (the
    first stage is fitted on the others); the challenge's continuations are not re-ranked, so it carves as `last`."""
    split = "last" if e.split == "challenge" else e.split
    fraction = e.holdout_fraction if split == "users" else 1.0
    return e.model_copy(update={"split": split, "holdout_fraction": fraction, "max_users": r.users})


def write_ranker_split(
    interactions: DataFrame, settings: Settings, work: Path, n_users: int, n_items: int
) -> RankerSplit:
    """The ranker's labels, carved from ``interactions`` (the evaluation's training part, or the whole log) by
    ``ranker_labels``, the rest written as the tables its first stage is fitted on. Its own seed, so its users are
    not the evaluation's."""
    labels = ranker_labels(settings.evaluation, settings.ranker)
    seed = settings.ranker.seed + 1
    if seed == settings.evaluation.seed:  # the same draw would pick the evaluation's test users, gone from here
        seed += 1
    with stage("ranker split"):
        paths, split = write_split(
            interactions, settings.model_copy(update={"evaluation": labels}), work, seed, n_users, n_items
        )
        given = write_given(split, work)
    release_heap(interactions.sparkSession)
    return RankerSplit(paths, str(work / "holdout"), given)


def write_given(split: splits.Split, work: Path) -> tuple[str, str] | None:
    """What a split's held-out users show (split=users, challenge) as ratings and sequences tables under ``work``,
    or None where every user stays in training."""
    if split.given is None:
        return None
    given = (str(work / "given_ratings"), str(work / "given_sequences"))
    tables.ratings(split.given).write.parquet(given[0])
    tables.sequences(split.given).write.parquet(given[1])
    return given


def write_evaluation_split(
    interactions: DataFrame, settings: Settings, work: Path, n_users: int, n_items: int
) -> SplitTables:
    """The split of ``settings.evaluation`` (its seed) of the indexed ``interactions``, written under ``work``."""
    e = settings.evaluation
    with stage("split and training tables"):
        paths, split = write_split(interactions, settings, work, e.seed, n_users, n_items)
        given = write_given(split, work)
        categories = None
        if split.categories is not None:
            categories = {row[S.USER_IDX]: row["category"] for row in split.categories.collect()}
    ranker = None
    if settings.ranker.enabled:  # which hands the heap back at its end
        ranker = write_ranker_split(split.train, settings, work / "ranker", n_users, n_items)
    else:
        release_heap(interactions.sparkSession)
    return SplitTables(e.split, split.protocol, paths, str(work / "holdout"), given, categories, ranker)
