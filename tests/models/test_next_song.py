"""Next-song scoring: the recent-items history, item2vec's output vectors, and the rank fusion."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from recsys import schemas as S
from recsys.matrices import recent_items, transitions
from recsys.models import Blend, History, Item2Vec
from recsys.models.blend import fuse
from recsys.settings import Item2VecSettings


def test_recent_items_are_the_last_of_each_sequence_padded_on_the_left(tmp_path):
    table = pa.table({S.USER_IDX: [2, 0], S.ITEMS: [[5, 6, 7, 8], [9]]}, schema=S.SEQUENCES_SCHEMA)
    pq.write_table(table, tmp_path / "part.parquet")
    recent = recent_items(S.read_sequences(str(tmp_path)), n_users=3, length=3)
    assert recent.tolist() == [[-1, -1, 9], [-1, -1, -1], [6, 7, 8]]


def test_transitions_count_each_item_directly_followed_by_another_within_a_list(tmp_path):
    """5->6 twice (in two lists), 6->7 once; nothing crosses from one list into the next, nor out of an empty one."""
    lists = [[5, 6, 7], [], [6, 5, 6], [1]]
    table = pa.table({S.USER_IDX: [0, 1, 2, 3], S.ITEMS: lists}, schema=S.SEQUENCES_SCHEMA)
    pq.write_table(table, tmp_path / "part.parquet")
    followed = transitions(S.read_sequences(str(tmp_path)), n_items=8)
    assert {(a, b): int(followed[a, b]) for a, b in zip(*followed.nonzero(), strict=True)} == {
        (5, 6): 2,
        (6, 7): 1,
        (6, 5): 1,
    }


def test_history_refuses_mismatched_rows():
    with pytest.raises(ValueError, match="one row per user"):
        History(sp.csr_matrix((3, 4)), np.zeros((2, 1), dtype=np.int32))


def test_fuse_adds_weighted_reciprocal_ranks():
    first = np.array([[2, 0, -1]])  # item 2 at rank 1, item 0 at rank 2
    second = np.array([[0, 3, 1]])
    scores = fuse([first, second], [1.0, 0.5], n_items=5, rank_offset=0.0)
    assert scores[0, 0] == pytest.approx(1 / 2 + 0.5 / 1)
    assert scores[0, 2] == pytest.approx(1.0)
    assert scores[0, 1] == pytest.approx(0.5 / 3)
    assert scores[0, 4] == 0 and scores.nnz == 4  # item 4 is in no list: no entry at all


def test_blend_needs_a_positive_weight_per_model():
    with pytest.raises(ValueError, match="one weight"):
        Blend([object()], [0.0], depth=10, rank_offset=60.0)


@pytest.mark.spark
def test_item2vec_predicts_the_planted_successor(planted):
    """The synthetic log plays each track's planted successor next half the time: output vectors must find it."""
    tables, history, synth, user_ids, item_ids = planted
    model = Item2Vec(Item2VecSettings(epochs=30, workers=1, context_items=1)).fit(tables.sequences, tables.n_items)
    users = np.arange(tables.n_users)
    ids, _ = model.recommend(users, history, 10)
    index_of = {item_id: idx for idx, item_id in item_ids.items()}
    hits, asked = 0, 0
    for u in users:
        last = int(item_ids[int(history.recent[u, -1])][1:])
        successor = index_of.get(f"t{synth.successor[last]}")
        if successor is None or history.user_items[u, successor]:
            continue  # already in the playlist: filtered, so not a fair ask
        asked += 1
        hits += successor in ids[u]
    assert asked > 100
    assert hits / asked > 0.6, f"successor in the top 10 for {hits}/{asked} playlists"
