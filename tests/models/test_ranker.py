"""The learned second stage: candidates and labels, training on items the members did not see, its text format."""

import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys import schemas as S
from recsys.continuation import seeded_history
from recsys.layout import RANKER_MODEL, RankerSplit
from recsys.models.base import Inputs
from recsys.models.blend import Blend
from recsys.models.ranker import Candidates, Features, Ranker, TooFewLabels, top_per_row, train_ranker
from recsys.registry import train_all, train_trees
from recsys.settings import (
    ALSSettings,
    BlendSettings,
    EaseSettings,
    Item2VecSettings,
    RankerSettings,
    Settings,
    UserKNNSettings,
)
from tests.conftest import planted_next_songs, planted_ranker

pytestmark = pytest.mark.spark

SETTINGS = Settings(
    als=ALSSettings(factors=16, iterations=10),
    item2vec=Item2VecSettings(epochs=10, workers=1),
    ease=EaseSettings(l2=10.0, top_n=50),
    user_knn=UserKNNSettings(neighbours=20),
    blend=BlendSettings(depth=30),
    ranker=RankerSettings(candidates=30, min_data_in_leaf=20, leaves=15, patience=20, threads=1),
)


def test_top_per_row_ranks_each_rows_triples_and_pads():
    rows, items, scores = np.array([1, 0, 1, 1, 0]), np.array([5, 2, 7, 9, 3]), np.array([0.1, 0.9, 0.8, 0.3, 0.2])
    ids, best = top_per_row(rows, items, scores, n_rows=3, k=2)
    assert ids.tolist() == [[2, 3], [7, 9], [-1, -1]]
    assert best[1].tolist() == pytest.approx([0.8, 0.3]) and np.isneginf(best[2]).all()
    tied = top_per_row(np.zeros(3, int), np.array([4, 5, 6]), np.full(3, 0.5), n_rows=1, k=2, then=np.array([1, 3, 2]))
    assert tied[0].tolist() == [[5, 6]]  # the trees' ties go the blend's way


def test_labels_mark_each_users_held_out_items_only():
    candidates = Candidates(np.array([0, 0, 1, 1]), np.array([4, 6, 4, 5]), np.zeros((4, 1), np.float32))
    users = np.array([10, 20])  # rows 0 and 1
    labels = candidates.labels(users, np.array([10, 20, 20]), np.array([6, 4, 9]), n_items=10)
    assert labels.tolist() == [0.0, 1.0, 1.0, 0.0]


@pytest.fixture(scope="module")
def trained(planted):
    """Members fitted on the planted log, and the trees taught the first 300 playlists' next songs."""
    tables, history, *_ = planted
    models = train_all(Inputs(tables, history), SETTINGS)
    ranker, summary = planted_ranker(models, planted, SETTINGS)
    return models, ranker, summary, planted_next_songs(planted)


def test_the_ranker_learns_the_planted_next_song_at_least_as_well_as_the_blend(trained, planted):
    """On playlists it was not trained on (300 to 599): the planted next song in the top 10. The trees find what
    the fusion of ranks blurs: the song after the last one, which co-occurrence and item2vec both point at."""
    _, history, *_ = planted
    models, ranker, summary, next_song = trained
    assert summary["trees"] >= 1 and 0.5 < summary["candidate_recall"] <= 1.0
    users = np.arange(300, len(next_song))
    users = users[next_song[users] >= 0]

    def hits(model) -> float:
        ids, _ = model.recommend(users, history, 10)
        return float(np.mean([next_song[u] in row for u, row in zip(users, ids, strict=True)]))

    blend, learnt = hits(models["blend"]), hits(ranker)
    assert learnt >= 0.95 and learnt > blend, (learnt, blend)  # measured 2026-12-03: 1.000 against 0.903


def test_a_saved_ranker_is_text_and_ranks_the_same_when_loaded(trained, planted, tmp_path):
    _, history, *_ = planted
    models, ranker, _, _ = trained
    inputs = Inputs(planted[0], history, models=models)
    assert Ranker.load(tmp_path, inputs, SETTINGS.ranker) is None  # a bundle built without the trees
    ranker.save(tmp_path)
    assert (tmp_path / RANKER_MODEL).read_text().startswith("tree\n")  # LightGBM's text format, no pickle
    loaded = Ranker.load(tmp_path, inputs, SETTINGS.ranker)
    users = np.arange(50)
    np.testing.assert_array_equal(loaded.recommend(users, history, 10)[0], ranker.recommend(users, history, 10)[0])
    features = loaded.features
    assert len(features.names) == features.build(users[:5], history).features.shape[1]


def test_trees_are_refused_over_other_members_and_new_users_need_the_same_members(trained, planted, tmp_path):
    _, history, *_ = planted
    models, ranker, _, _ = trained
    ranker.save(tmp_path)
    fewer = Blend.of([models["cooccurrence"], models["item2vec"]], SETTINGS.blend)
    with pytest.raises(ValueError, match="its trees know"):
        Ranker.load(tmp_path, Inputs(planted[0], history, models=models | {"blend": fewer}), SETTINGS.ranker)
    with pytest.raises(ValueError, match="the trees were trained on"):
        ranker.features.for_new_users(fewer, lambda users, _: models["als"].user_factors_[users])


def test_a_playlist_shorter_than_the_recent_window_is_ranked(trained, planted):
    """One item: the co-occurrence slots before it are empty (-1), which no feature may trip over."""
    _, history, *_ = planted
    _, ranker, _, _ = trained
    short = seeded_history([history.recent[0, -1:]], history.n_items, history.recent.shape[1])
    ids, scores = ranker.recommend(np.array([0]), short, 10)
    assert (ids >= 0).all() and history.recent[0, -1] not in ids and np.isfinite(scores).all()


def test_too_few_labelled_users_to_grow_and_stop_the_trees_is_said_not_crashed(trained, planted):
    """One labelled user cannot both grow the trees and decide when to stop (LightGBM fails on an empty part): a
    small log gets TooFewLabels, which the build logs and goes on without a ranker."""
    tables, history, *_ = planted
    models, _, _, next_song = trained
    features = Features.of(Inputs(tables, history, models=models), SETTINGS.ranker.candidates)
    with pytest.raises(TooFewLabels, match=r"1 of 1 labelled users have their held-out item among the candidates"):
        train_ranker(features, history, np.array([0]), next_song[[0]], SETTINGS.ranker)


def test_a_carve_too_small_for_trees_leaves_the_build_without_a_ranker(planted, tmp_path, caplog):
    """train_trees, as the build and the evaluation call it: one labelled playlist gives no booster, a summary
    saying why, and a logged warning, so the build goes on and serves every other model."""
    tables, *_ = planted
    holdout = pa.table({S.USER_IDX: [0], S.ITEM_IDX: [1]}, schema=S.HOLDOUT_SCHEMA)
    pq.write_table(holdout, tmp_path / "part.parquet")
    with caplog.at_level(logging.WARNING, logger="recsys.registry"):
        booster, summary = train_trees(RankerSplit(tables, str(tmp_path)), SETTINGS)
    assert booster is None and summary["users"] == 1 and "too few to grow and stop the trees" in summary["skipped"]
    assert "no ranker: " in caplog.text
