"""Evaluation splits on a real local SparkSession: what each holds out, that nothing is lost or leaked, seeds."""

from collections import Counter, defaultdict

import numpy as np
import pytest

from recsys import schemas as S
from recsys.spark import splits

pytestmark = pytest.mark.spark

SCHEMA = f"{S.USER_IDX} int, {S.ITEM_IDX} int, {S.COUNT} long, {S.POSITION} long, {S.ROW} long, {S.TIMESTAMP} long"


def frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def pairs(df) -> set[tuple[int, int]]:
    return {(r[S.USER_IDX], r[S.ITEM_IDX]) for r in df.select(S.USER_IDX, S.ITEM_IDX).collect()}


@pytest.fixture(scope="module")
def log(spark):
    """300 users holding 0..11 distinct items in order; user u's p-th item is 1000 * u + p at time 10 * p + u."""
    rows = [(u, 1000 * u + p, 1, p, p, 10 * p + u) for u in range(300) for p in range(u % 12)]
    return frame(spark, rows), rows


def test_last_items_holds_out_the_end_of_long_enough_playlists(log):
    df, rows = log
    split = splits.last_items(df, 2, fraction=0.5, min_items=3, seed=1)
    held = defaultdict(set)
    for user, item in pairs(split.holdout):
        held[user].add(item)
    assert held and split.given is None
    for user, items in held.items():
        length = user % 12
        assert length >= 3 and items == {1000 * user + length - 1, 1000 * user + length - 2}
    eligible = sum(1 for u in range(300) if u % 12 >= 3)
    assert 0.35 * eligible < len(held) < 0.65 * eligible
    held_rows = {(user, item) for user, items in held.items() for item in items}
    # nothing lost or doubled: the drawn users' other rows join everyone else's in training
    assert sorted(tuple(r) for r in split.train.collect()) == sorted(r for r in rows if r[:2] not in held_rows)
    again = splits.last_items(df.repartition(7), 2, fraction=0.5, min_items=3, seed=1)
    assert pairs(again.holdout) == pairs(split.holdout)  # the same on any partitioning
    other = splits.last_items(df, 2, fraction=0.5, min_items=3, seed=2)
    assert pairs(other.holdout) != pairs(split.holdout)


def test_random_items_holds_a_share_of_each_chosen_users_items(log):
    df, rows = log
    split = splits.random_items(df, share=0.25, fraction=1.0, min_items=2, seed=3)
    held = Counter(user for user, _ in pairs(split.holdout))
    for user in range(300):
        n = user % 12
        expected = 0 if n < 2 else min(max(1, int(n * 0.25)), n - 1)
        assert held[user] == expected, user
    assert not pairs(split.train) & pairs(split.holdout)
    assert split.train.count() + sum(held.values()) == len(rows)
    # not simply the last items: the held items are spread over positions
    positions = {item % 1000 for _, item in pairs(split.holdout)}
    assert len(positions) > 5
    # a drawn share of users: the others' rows train untouched beside the drawn users' rest
    some = splits.random_items(df, share=0.25, fraction=0.5, min_items=2, seed=3)
    held_pairs = pairs(some.holdout)
    assert 0 < len({user for user, _ in held_pairs}) < 250
    assert sorted(tuple(r) for r in some.train.collect()) == sorted(r for r in rows if r[:2] not in held_pairs)


def test_held_out_users_are_absent_from_training_and_given_the_rest(log):
    df, rows = log
    split = splits.held_out_users(df, share=0.2, fraction=0.3, min_items=5, seed=4)
    test_users = {user for user, _ in pairs(split.holdout)}
    assert test_users and all(u % 12 >= 5 for u in test_users)
    assert 0.15 * 300 * 7 / 12 < len(test_users) < 0.45 * 300 * 7 / 12
    train_users = {user for user, _ in pairs(split.train)}
    assert not train_users & test_users
    given = pairs(split.given)
    assert {user for user, _ in given} == test_users
    assert not given & pairs(split.holdout)
    # every row of a test user is either given or to predict, and every other user's rows train
    assert split.train.count() + len(given) + split.holdout.count() == len(rows)


def test_temporal_holds_out_what_came_after_the_cutoff_for_known_users_and_items(spark):
    # items 0..39 shared by users; user u holds item (u + p) % 40 at time 100 * p + u
    rows = [(u, (u + p) % 40, 1, p, p, 100 * p + u) for u in range(120) for p in range(10)]
    df = frame(spark, rows)
    split = splits.temporal(df, share=0.2, fraction=1.0, seed=5)
    last_train = split.train.agg({S.TIMESTAMP: "max"}).first()[0]
    times = {(u, i): t for u, i, _, _, _, t in rows}
    held = pairs(split.holdout)
    assert held and all(times[pair] > last_train for pair in held)
    train = pairs(split.train)
    assert {u for u, _ in held} <= {u for u, _ in train} and {i for _, i in held} <= {i for _, i in train}
    assert not held & train
    assert 0.1 < 1 - split.train.count() / len(rows) < 0.3


def test_temporal_needs_timestamps(spark):
    df = frame(spark, [(0, 1, 1, 0, 0, None), (1, 2, 1, 0, 1, None)])
    with pytest.raises(ValueError, match="timestamps"):
        splits.temporal(df, share=0.2, fraction=1.0, seed=0)


def test_challenge_categories_fill_equal_shares_from_the_most_demanding():
    from recsys.challenge import CATEGORIES, min_length

    lengths = np.array([250] * 30 + [60] * 30 + [12] * 40)  # 100 users: 30 long, 30 medium, 40 short
    category = splits.assign_categories(lengths, target=100)
    counts = Counter(category.tolist())
    assert all(counts[c] == 10 for c in range(len(CATEGORIES)))  # a tenth each, every one served
    for c, length in zip(category, lengths, strict=True):
        assert length >= min_length(CATEGORIES[c][1])
    assert Counter(splits.assign_categories(lengths, target=50).tolist())[-1] == 50  # only the target is drawn
    few_long = Counter(splits.assign_categories(np.array([250] * 5 + [12] * 95), target=100).tolist())
    assert few_long[8] == few_long[9] == 2  # 100 seeds: the five long ones shared evenly between the two
    assert few_long[0] == 10


def test_challenge_split_gives_each_category_its_seeds_and_holds_out_the_rest(spark):
    from recsys.challenge import CATEGORIES

    # 400 playlists of 5..254 tracks; track p of playlist u is 10_000 * u + p, added in reverse order of position
    rows = [(u, 10_000 * u + p, 1, p, 300 - p, 0) for u in range(400) for p in range(5 + (u * 37) % 250)]
    df = frame(spark, rows)
    split = splits.challenge(df, fraction=0.5, seed=7)
    category_of = {r[S.USER_IDX]: r["category"] for r in split.categories.collect()}
    assert 150 < len(category_of) < 250
    assert not {u for u, _ in pairs(split.train)} & set(category_of)  # held-out playlists leave training
    given, held = defaultdict(set), defaultdict(set)
    for user, item in pairs(split.given):
        given[user].add(item % 10_000)
    for user, item in pairs(split.holdout):
        held[user].add(item % 10_000)
    for user, c in category_of.items():
        _, seeds, first = CATEGORIES[c]
        length = 5 + (user * 37) % 250
        assert len(given[user]) == seeds and given[user] | held[user] == set(range(length)), user
        if first and seeds:
            assert given[user] == set(range(seeds)), user  # by position, not input order
    randoms = [given[u] for u, c in category_of.items() if not CATEGORIES[c][2]]
    assert randoms and any(g != set(range(len(g))) for g in randoms)
    assert pairs(splits.challenge(df.repartition(5), fraction=0.5, seed=7).holdout) == pairs(split.holdout)


@pytest.mark.parametrize(
    ("split", "carved", "fraction"),
    [("last", "last", 1.0), ("random", "random", 1.0), ("temporal", "temporal", 1.0), ("users", "users", 0.3),
     ("challenge", "last", 1.0)],
)  # fmt: skip
def test_the_rankers_labels_are_carved_as_the_evaluation_carves_its_test(split, carved, fraction):
    """Trees taught next items ranked MovieLens's random held-out items at a third of the blend's recall: the
    labels follow the evaluation's kind, from up to ranker.users users; held-out users keep the evaluation's
    share (the first stage needs the others); the challenge's continuations are not re-ranked."""
    from recsys.settings import EvaluationSettings, RankerSettings
    from recsys.spark.protocol import ranker_labels

    e = EvaluationSettings(split=split, holdout_fraction=0.3, holdout_share=0.4, max_users=100)
    labels = ranker_labels(e, RankerSettings(users=7))
    assert (labels.split, labels.holdout_fraction, labels.max_users) == (carved, fraction, 7)
    assert (labels.holdout_share, labels.holdout_items, labels.min_items) == (0.4, e.holdout_items, e.min_items)
