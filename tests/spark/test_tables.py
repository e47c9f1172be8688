"""Each Spark transform on tiny frames whose answers are known by hand."""

import pytest

from recsys import schemas as S
from recsys.spark import idmap, tables

pytestmark = pytest.mark.spark

COLUMNS = [S.USER_IDX, S.ITEM_IDX, S.COUNT, S.POSITION, S.ROW]


def frame(spark, rows):
    return spark.createDataFrame(
        rows, f"{S.USER_IDX} int, {S.ITEM_IDX} int, {S.COUNT} long, {S.POSITION} long, {S.ROW} long"
    )


def test_ratings_sum_counts_per_user_item(spark):
    df = frame(spark, [(0, 1, 1, 0, 0), (0, 1, 2, 1, 1), (0, 2, 1, 2, 2), (1, 1, 5, 0, 3)])
    got = {(r[0], r[1]): r[2] for r in tables.ratings(df).collect()}
    assert got == {(0, 1): 3, (0, 2): 1, (1, 1): 5}


def test_sequences_follow_position_then_input_order(spark):
    # user 0: positions 2, 0, 1 -> items 30, 10, 20 reorder to 10, 20, 30; user 1 ties on position -> row order
    df = frame(spark, [(0, 30, 1, 2, 0), (0, 10, 1, 0, 1), (0, 20, 1, 1, 2), (1, 7, 1, 0, 9), (1, 8, 1, 0, 4)])
    got = {r[S.USER_IDX]: r[S.ITEMS] for r in tables.sequences(df).collect()}
    assert got == {0: [10, 20, 30], 1: [8, 7]}


def test_cooccurrence_counts_pairs_inside_the_window_both_ways(spark):
    seqs = spark.createDataFrame([(0, [1, 2, 3, 4]), (1, [1, 2]), (2, [5])], f"{S.USER_IDX} int, {S.ITEMS} array<int>")
    got = {(r[0], r[1]): r[2] for r in tables.cooccurrence(seqs, window=2, top_n=10).collect()}
    # window 2 over [1,2,3,4]: (1,2) (1,3) (2,3) (2,4) (3,4); [1,2] adds (1,2) again; [5] has no pairs
    expected = {(1, 2): 2, (1, 3): 1, (2, 3): 1, (2, 4): 1, (3, 4): 1}
    assert got == {**expected, **{(b, a): c for (a, b), c in expected.items()}}


def test_cooccurrence_skips_self_pairs_and_keeps_top_n(spark):
    seqs = spark.createDataFrame(
        [(0, [1, 1, 2]), (1, [1, 3]), (2, [1, 3]), (3, [1, 4])], f"{S.USER_IDX} int, {S.ITEMS} array<int>"
    )
    got = tables.cooccurrence(seqs, window=1, top_n=1).collect()
    neighbours = {r[S.ITEM_A]: (r[S.ITEM_B], r[S.COUNT]) for r in got}
    assert neighbours[1] == (3, 2)  # 3 beats 2 and 4 (one each); (1, 1) never counted
    assert len([r for r in got if r[S.ITEM_A] == 1]) == 1


def test_id_maps_are_dense_and_items_ordered_by_popularity(spark):
    df = spark.createDataFrame(
        [("u2", "b"), ("u1", "a"), ("u1", "b"), ("u3", "b"), ("u3", "c"), ("u2", "c")],
        f"{S.USER_ID} string, {S.ITEM_ID} string",
    )
    users = {r[0]: r[1] for r in idmap.user_index(df).collect()}
    items = {r[0]: r[1] for r in idmap.item_index(df).collect()}
    assert users == {"u1": 0, "u2": 1, "u3": 2}
    assert items == {"b": 0, "c": 1, "a": 2}  # b held by 3 users, c by 2, a by 1


def test_artist_index_numbers_artists_and_marks_the_unknown(spark):
    catalogue = spark.createDataFrame(
        [("a", 0, "Metallica"), ("b", 1, " Metallica "), ("c", 2, None), ("d", 3, ""), ("e", 4, "Usher")],
        f"{S.ITEM_ID} string, {S.ITEM_IDX} int, artist string",
    )
    assert idmap.artist_index(catalogue, 6).tolist() == [0, 0, -1, -1, 1, -1]  # item 5: in no catalogue row
    assert idmap.artist_index(catalogue.drop("artist"), 5) is None


def test_cooccurrence_caps_pairs_per_playlist(spark):
    seqs = spark.createDataFrame([(0, list(range(100)))], f"{S.USER_IDX} int, {S.ITEMS} array<int>")
    got = tables.cooccurrence(seqs, window=2, top_n=10, max_pairs_per_playlist=20).collect()
    # 20 pairs / window 2 = positions 0..9 start pairs: (i, i+1), (i, i+2) for i <= 9, each counted both ways
    assert sum(r[S.COUNT] for r in got) == 2 * 20
    assert max(max(r[S.ITEM_A], r[S.ITEM_B]) for r in got) == 11


def test_cooccurrence_survives_a_huge_playlist_and_a_hot_item(spark):
    """One 10,000-track playlist plus a track held by half of all playlists: exact counts, bounded tasks."""
    n = 2000
    rows = [(0, list(range(1000, 11_000)))]
    rows += [(u, [7, 100 + u % 50] if u % 2 else [100 + u % 50, 200 + u % 50]) for u in range(1, n)]
    seqs = spark.createDataFrame(rows, f"{S.USER_IDX} int, {S.ITEMS} array<int>")
    result = tables.cooccurrence(seqs, window=3, top_n=5)
    plan = result._jdf.queryExecution().executedPlan().toString()
    assert "WindowGroupLimit" in plan and "Partial" in plan  # top-N per item computed before the shuffle by item
    got = {(r[S.ITEM_A], r[S.ITEM_B]): r[S.COUNT] for r in result.collect()}
    hot = sorted(((b, c) for (a, b), c in got.items() if a == 7), key=lambda x: (-x[1], x[0]))
    # the hot item 7 sits next to 100 + u % 50 in the 1,000 odd playlists: 40 each for the 25 odd residues
    assert hot == [(101, 40), (103, 40), (105, 40), (107, 40), (109, 40)]
    assert got[(1000, 1001)] == 1 and got[(10_999, 10_998)] == 1  # the long playlist counted end to end
    assert sum(1 for a, _ in got if a == 5000) == 5  # top_n respected inside it (6 neighbours, 5 kept)


def test_transitions_weigh_each_follower_by_one_over_its_gap_in_one_direction(spark):
    seqs = spark.createDataFrame([(0, [1, 2, 3, 1]), (1, [1, 2]), (2, [5])], f"{S.USER_IDX} int, {S.ITEMS} array<int>")
    got = {(r[S.ITEM_A], r[S.ITEM_B]): r[S.WEIGHT] for r in tables.transitions(seqs, window=2, top_n=10).collect()}
    # window 2 over [1,2,3,1]: 1->2 (gap 1), 1->3 (2), 2->3 (1), 2->1 (2), 3->1 (1); [1,2] adds 1->2 again
    assert got == pytest.approx({(1, 2): 2.0, (1, 3): 0.5, (2, 3): 1.0, (2, 1): 0.5, (3, 1): 1.0})


def test_transitions_keep_the_heaviest_followers_and_never_an_item_after_itself(spark):
    seqs = spark.createDataFrame(
        [(0, [1, 1, 2]), (1, [1, 3]), (2, [1, 4, 3])], f"{S.USER_IDX} int, {S.ITEMS} array<int>"
    )
    got = tables.transitions(seqs, window=2, top_n=2).collect()
    followers = sorted((r[S.ITEM_B], r[S.WEIGHT]) for r in got if r[S.ITEM_A] == 1)
    # after 1: 3 weighs 1 + 1/2, 2 weighs 1 + 1/2 (from both 1s), 4 weighs 1; (1, 1) never counted
    assert followers == [(2, 1.5), (3, 1.5)]
