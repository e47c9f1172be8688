"""User vectors: plain, idf- and recency-weighted means of the user's item vectors."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from recsys import schemas as S
from recsys.models.item2vec import user_weights
from recsys.settings import Item2VecSettings

# user 0 played items 0, 1, 2 in that order; user 1 played 2, then 0; item 0 is in every playlist
SEQUENCES = {S.USER_IDX: [0, 1], S.ITEMS: [[0, 1, 2], [2, 0]]}
USER_ITEMS = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 1]], dtype=np.float32))


@pytest.fixture
def sequences(tmp_path):
    pq.write_table(pa.table(SEQUENCES, schema=S.SEQUENCES_SCHEMA), tmp_path / "part.parquet")
    return str(tmp_path)


def weights(sequences, **settings):
    return user_weights(USER_ITEMS, sequences, Item2VecSettings(**settings)).toarray()


def test_mean_weighs_every_item_alike(sequences):
    assert weights(sequences) == pytest.approx(np.array([[1 / 3, 1 / 3, 1 / 3], [0.5, 0, 0.5]]))


def test_idf_weighs_an_item_every_user_holds_least(sequences):
    w = weights(sequences, user_weighting="idf")
    rare = 1 + np.log(3 / 2)  # item 1: one holder of two users; items 0 and 2: idf 1
    assert w[0] == pytest.approx(np.array([1, rare, 1]) / (2 + rare))
    assert w[1] == pytest.approx([0.5, 0, 0.5])


def test_recency_favours_the_latest_items(sequences):
    w = weights(sequences, user_weighting="recency", user_recency_decay=0.5)
    assert w[0] == pytest.approx(np.array([0.25, 0.5, 1.0]) / 1.75)  # ages 2, 1, 0
    assert w[1] == pytest.approx(np.array([1.0, 0, 0.5]) / 1.5)  # item 0 is user 1's latest
