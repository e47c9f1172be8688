"""User kNN: similarities, the neighbour cut and the scores, against the formula worked by hand."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.models import History, UserKNN
from recsys.settings import UserKNNSettings

#: Pool users by the items they hold; the last row is the query user (its own row is in the pool too).
HELD = [[1, 2, 3], [1, 2, 4, 8, 9], [5, 6], [1, 7], [1, 2]]
N_ITEMS = 10


def history() -> History:
    rows = [u for u, items in enumerate(HELD) for _ in items]
    cols = [i for items in HELD for i in items]
    counts = np.full(len(cols), 3.0, dtype=np.float32)  # counts are binarised: 3 plays weigh as one
    user_items = sp.csr_matrix((counts, (rows, cols)), shape=(len(HELD), N_ITEMS))
    return History(user_items, np.full((len(HELD), 1), -1))


def test_similarity_is_shared_items_over_the_neighbours_length_to_the_exponent():
    h = history()
    model = UserKNN(UserKNNSettings(neighbours=5, length_exponent=0.5, idf=False)).fit(h.user_items)
    sims = model.neighbours(h.user_items[[4]]).toarray()[0]
    # shares {1,2} with users 0, 1 and itself, {1} with user 3, nothing with user 2 (no neighbour at all)
    assert sims == pytest.approx([2 / 3**0.5, 2 / 5**0.5, 0.0, 1 / 2**0.5, 2 / 2**0.5])


def test_idf_weighs_shared_items_by_how_few_users_hold_them():
    h = history()
    model = UserKNN(UserKNNSettings(neighbours=5, length_exponent=0.0, idf=True)).fit(h.user_items)
    sims = model.neighbours(h.user_items[[4]]).toarray()[0]
    idf1, idf2 = np.log(5 / 4), np.log(5 / 3)  # item 1: 4 of 5 users hold it; item 2: 3 of 5
    assert sims == pytest.approx([idf1 + idf2, idf1 + idf2, 0.0, idf1, idf1 + idf2])


def test_items_score_the_summed_similarity_of_the_nearest_users_that_hold_them():
    h = history()
    model = UserKNN(UserKNNSettings(neighbours=3, length_exponent=1.0, idf=False)).fit(h.user_items)
    # similarities to users 0..4: 2/3, 2/5, 0, 1/2, 1; the nearest 3 are 4 (itself), 0 and 3, not 1
    ids, scores = model.recommend(np.array([4]), h, 4)
    assert ids[0].tolist() == [3, 7, -1, -1]  # user 1's items 4, 8, 9 are out; 1 and 2 are held
    assert scores[0, :2] == pytest.approx([2 / 3, 1 / 2])


def test_a_new_user_is_answered_from_its_items_alone():
    """Memory-based: a query row that is not in the pool needs no refit (how --split users's held-out users are
    answered from their given items)."""
    h = history()
    model = UserKNN(UserKNNSettings(neighbours=1, length_exponent=0.0, idf=False)).fit(h.user_items)
    new = History(sp.csr_matrix(([1.0], ([0], [5])), shape=(1, N_ITEMS)), np.full((1, 1), -1))
    ids, _ = model.recommend(np.array([0]), new, 2)
    assert ids[0].tolist() == [6, -1]  # user 2 alone holds item 5; it also holds 6
