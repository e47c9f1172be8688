"""EASE's closed form against its per-item derivation, its pruning, and its round trip through a bundle file."""

import logging

import numpy as np
import scipy.sparse as sp

from recsys.layout import Tables
from recsys.models import EASE, History
from recsys.models.base import Inputs
from recsys.models.ease import keep_largest
from recsys.settings import EaseSettings


def random_history(n_users=60, n_items=12, seed=0):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.3).astype(np.float32) * rng.integers(1, 4, (n_users, n_items))
    user_items = sp.csr_matrix(dense)
    return History(user_items, np.full((n_users, 1), -1))


def test_weights_solve_each_items_ridge_regression_with_a_zero_diagonal():
    """Column j of B is the ridge regression of item j on every other item (Steck 2019, eq. 2 solved per column):
    an independent way to the same weights as the closed form's single inverse."""
    history = random_history()
    l2 = 5.0
    model = EASE(EaseSettings(l2=l2, top_n=12)).fit(history.user_items)
    weights = model.weights_.toarray()
    x = history.user_items.astype(bool).astype(np.float64).toarray()  # counts are binarised
    gram = x.T @ x
    for j in range(x.shape[1]):
        others = np.delete(np.arange(x.shape[1]), j)
        expected = np.linalg.solve(gram[np.ix_(others, others)] + l2 * np.eye(len(others)), gram[others, j])
        np.testing.assert_allclose(weights[others, j], expected, atol=1e-4)
        assert weights[j, j] == 0.0


def test_keep_largest_keeps_each_rows_largest_magnitudes_with_their_signs():
    weights = np.array([[0.0, -3.0, 1.0, 2.0], [0.5, 0.0, -0.1, 0.2]])
    kept = keep_largest(weights, 2).toarray()
    np.testing.assert_allclose(kept, [[0.0, -3.0, 0.0, 2.0], [0.5, 0.0, 0.0, 0.2]], rtol=1e-6)


def test_saved_weights_load_equal_and_recommend_the_same(tmp_path):
    history = random_history()
    model = EASE(EaseSettings(l2=5.0, top_n=4)).fit(history.user_items)
    assert (np.diff(model.weights_.indptr) <= 4).all()
    model.save(tmp_path)
    inputs = Inputs(Tables.of(tmp_path, *history.user_items.shape), history)
    loaded = EASE.load(tmp_path, inputs, model.settings)
    users = np.arange(history.user_items.shape[0])
    np.testing.assert_array_equal(loaded.recommend(users, history, 5)[0], model.recommend(users, history, 5)[0])


def test_a_catalogue_over_the_cap_is_left_out_with_a_log_line(caplog):
    with caplog.at_level(logging.INFO, logger="recsys.models.ease"):
        assert EASE.fits(EaseSettings(max_items=100), 100)
        assert not EASE.fits(EaseSettings(max_items=100), 101)
    assert "ease left out: 101 items, over ease.max_items 100" in caplog.text
