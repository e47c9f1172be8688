"""FAISS search with ids excluded inside the search agrees with brute force and with implicit's ALS."""

import numpy as np
import pytest

from recsys.index import build_index, search
from recsys.models import ALS
from recsys.settings import ALSSettings


def test_search_excludes_ids_and_matches_brute_force():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    query = rng.normal(size=16).astype(np.float32)
    exclude = np.argsort(-(vectors @ query))[:3]
    ids, scores = search(build_index(vectors, "ip"), query, 5, exclude=exclude)
    expected = [i for i in np.argsort(-(vectors @ query)) if i not in exclude][:5]
    assert ids.tolist() == expected
    assert scores == pytest.approx((vectors @ query)[expected], rel=1e-5)


def test_cosine_index_ignores_vector_length():
    vectors = np.array([[1.0, 0.0], [10.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    ids, scores = search(build_index(vectors, "cosine"), np.array([1.0, 0.0]), 3)
    assert ids.tolist() == [0, 1, 2]
    assert scores[0] == pytest.approx(1.0)


def test_k_larger_than_the_index_returns_what_exists():
    ids, _ = search(build_index(np.eye(3, dtype=np.float32), "ip"), np.ones(3), 10, exclude=np.array([1]))
    assert sorted(ids.tolist()) == [0, 2]


@pytest.mark.spark
def test_serving_path_matches_implicit_recommend(planted):
    """The service ranks with FAISS over ALS factors; it must agree with implicit's own recommend."""
    tables, history, *_ = planted
    user_items = history.user_items
    als = ALS(ALSSettings(factors=16, iterations=5)).fit(user_items)
    index = build_index(als.item_factors_, "ip")
    users = np.arange(0, tables.n_users, 37)
    expected, _ = als.recommend(users, history, 10)
    for row, u in enumerate(users):
        seen = user_items.indices[user_items.indptr[u] : user_items.indptr[u + 1]]
        ids, _ = search(index, als.user_factors_[u], 10, exclude=seen)
        assert ids.tolist() == expected[row].tolist()
