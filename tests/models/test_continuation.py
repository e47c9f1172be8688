"""Continuing unseen playlists: members rank only seeded ones, the title model only named ones, popularity fills."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.continuation import Titles, complete, continue_playlists, seeded_history
from recsys.models import CoOccurrence
from recsys.models.title import TitleModel
from recsys.settings import BlendSettings, TitleSettings


def test_complete_fills_with_popular_items_neither_listed_nor_held():
    ids = np.array([[3, -1, -1, -1], [0, 1, 2, 5]])
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype=np.float32))
    popular = np.array([0, 3, 4, 1, 2, 5])
    assert complete(ids, popular, seen).tolist() == [[3, 4, 1, 2], [0, 1, 2, 5]]
    with pytest.raises(ValueError, match="only 5 items left to list, not 6"):  # six items, one of them held
        complete(np.array([[3, -1, -1, -1, -1, -1]]), popular, seen[:1])


def test_seedless_playlists_take_the_title_and_popularity_only():
    n_items = 6
    cooc = CoOccurrence()
    cooc.matrix_ = sp.csr_matrix(np.eye(n_items, k=1, dtype=np.float32))  # each item co-occurs with the next
    train = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1]], np.float32))
    title = TitleModel(TitleSettings(smoothing=0.1)).fit(["gym", "gym", "sleep"], train)
    history = seeded_history([np.array([2]), np.array([], np.int64)], n_items, context=3)
    settings = BlendSettings(cooccurrence=1.0, als=0.0, item2vec=0.0, user_knn=0.0, ease=0.0, title=1.0)
    popular = np.argsort(-np.asarray(train.sum(axis=0)).ravel(), kind="stable")
    ids = continue_playlists([cooc], Titles(title, [None, "sleep"]), settings, np.arange(2), history, popular, 4)
    assert ids[0, 0] == 3 and 2 not in ids[0]  # the seed's co-occurring item first, the seed never
    assert set(ids[1, :2]) == {4, 5}  # the title's own playlist, no arbitrary co-occurrence ties
    assert all(len(set(row)) == 4 for row in ids.tolist())


def test_with_no_member_and_no_title_every_playlist_gets_the_popular_tracks_it_does_not_hold():
    history = seeded_history([np.array([0]), np.array([], np.int64)], n_items=5, context=2)
    popular = np.array([0, 3, 4, 1, 2])
    ids = continue_playlists([], None, BlendSettings(), np.arange(2), history, popular, 3)
    assert ids.tolist() == [[3, 4, 1], [0, 3, 4]]
