"""The service's index-searched models rank exactly as the models' own dense scoring does, held items excluded."""

import numpy as np
import scipy.sparse as sp

from recsys.index import build_index, kind_of
from recsys.layout import INDEX_ITEMS_ALS, INDEX_ITEMS_ITEM2VEC_NEXT
from recsys.models import ALS, Item2Vec
from recsys.models.base import History
from recsys.models.searched import Searched
from recsys.settings import ALSSettings, IndexSettings, Item2VecSettings


def history(n_users: int, n_items: int, rng: np.random.Generator) -> History:
    held = sp.random(n_users, n_items, density=0.05, format="csr", random_state=1, dtype=np.float32)
    held.data[:] = 1.0
    recent = rng.integers(-1, n_items, size=(n_users, 3)).astype(np.int32)
    return History(held, recent)


def test_searched_als_and_next_song_equal_their_dense_rankings():
    rng = np.random.default_rng(0)
    users_factors = rng.normal(size=(40, 8)).astype(np.float32)
    item_factors = (rng.normal(size=(500, 8)) * rng.lognormal(size=(500, 1))).astype(np.float32)  # skewed norms
    als = ALS.from_factors(ALSSettings(factors=8), users_factors, item_factors)
    item2vec = Item2Vec.from_vectors(
        Item2VecSettings(vector_size=8, context_items=3),
        rng.normal(size=(500, 8)).astype(np.float32),
        rng.normal(size=(500, 8)).astype(np.float32),  # even norms: auto builds HNSW, so force exact search here
    )
    known = history(40, 500, rng)
    users = np.arange(40)
    exact = IndexSettings(exact_below=10, kind="pruned")
    searched_als = als.served({INDEX_ITEMS_ALS: build_index(item_factors, "ip", exact)})
    searched_next = item2vec.served({INDEX_ITEMS_ITEM2VEC_NEXT: build_index(item2vec.output_vectors_, "ip", exact)})
    assert isinstance(searched_next, Searched) and searched_next.trained is item2vec
    assert item2vec.served({}) is item2vec  # a bundle built before the next-song index scores every item
    for dense, searched in ((als, searched_als), (item2vec, searched_next)):
        expected_ids, expected_scores = dense.recommend(users, known, 20)
        ids, scores = searched.recommend(users, known, 20)
        assert (ids == expected_ids).all(), searched.name
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-4, atol=1e-4)
        held = known.user_items[users[0]].indices
        assert not set(ids[0]) & set(held)


def test_auto_builds_hnsw_where_norms_are_too_even_to_prune():
    rng = np.random.default_rng(1)
    even = rng.normal(size=(40_000, 16)).astype(np.float32)
    even /= np.linalg.norm(even, axis=1, keepdims=True)
    skewed = even * rng.lognormal(sigma=2.0, size=(40_000, 1)).astype(np.float32)
    settings = IndexSettings(exact_below=1000)

    assert kind_of(build_index(skewed, "ip", settings, queries=even)) == "pruned"
    assert kind_of(build_index(even, "ip", settings, queries=even)) == "hnsw"
    assert kind_of(build_index(even, "ip", settings)) == "pruned"  # without queries to judge by, as configured


def test_inner_product_hnsw_finds_the_largest_products_and_scores_them_exactly():
    """HNSW over inner products searches equal-norm copies of the vectors (one added column): the queries' top
    products are found at the target recall, with their true scores."""
    from recsys.index import search, tune_search_breadth

    rng = np.random.default_rng(2)
    vectors = (rng.normal(size=(20_000, 16)) * rng.uniform(0.6, 1.1, size=(20_000, 1))).astype(np.float32)
    queries = rng.normal(size=(300, 16)).astype(np.float32)
    settings = IndexSettings(exact_below=1000, kind="hnsw")
    index = build_index(vectors, "ip", settings)
    assert index.d == 17 and kind_of(index) == "hnsw"
    assert tune_search_breadth(index, vectors, "ip", queries, settings) >= 0.95
    ids, scores = search(index, queries[0], 10, exclude=np.array([0, 1]))
    np.testing.assert_allclose(scores, vectors[ids] @ queries[0], rtol=1e-4, atol=1e-4)
    assert not {0, 1} & set(ids.tolist())
