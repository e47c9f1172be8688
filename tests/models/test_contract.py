"""One contract every model family passes, on every device it supports."""

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from recsys.models import EASE, Blend, CoOccurrence, Item2Vec, Popularity, UserKNN
from recsys.models.base import top_k
from recsys.pipeline import fit_als
from recsys.settings import ALSSettings, EaseSettings, Item2VecSettings, Settings, UserKNNSettings

pytestmark = pytest.mark.spark

K = 10


def fit(name, tables, user_items, device="false", spark=None):
    if name == "popularity":
        return Popularity().fit(user_items)
    if name == "cooccurrence":
        return CoOccurrence().fit(tables.cooccurrence, tables.n_items)
    if name == "item2vec":
        return Item2Vec(Item2VecSettings(epochs=10, workers=1)).fit(tables.sequences, tables.n_items)
    if name == "ease":
        return EASE(EaseSettings(l2=10.0, top_n=50)).fit(user_items)
    if name == "user_knn":
        return UserKNN(UserKNNSettings(neighbours=20)).fit(user_items)
    if name == "blend":
        parts = [
            fit(part, tables, user_items, device, spark)
            for part in ("als", "item2vec", "cooccurrence", "ease", "user_knn")
        ]
        return Blend(parts, [1.0, 1.0, 0.5, 0.5, 0.5], depth=30, rank_offset=10.0)
    backend, use_gpu = {"spark": ("spark", "false"), "torch": ("torch", "false")}.get(device, ("implicit", device))
    settings = Settings(als=ALSSettings(factors=16, iterations=10, backend=backend, use_gpu=use_gpu))
    return fit_als(spark, tables, user_items, settings)  # the job's own backend choice


MODELS = [
    ("popularity", "false"),
    ("cooccurrence", "false"),
    ("item2vec", "false"),
    ("als", "false"),
    ("als", "spark"),
    ("als", "torch"),
    ("ease", "false"),
    ("user_knn", "false"),
    ("blend", "false"),
    pytest.param("als", "true", marks=pytest.mark.gpu, id="als-gpu"),
]


@pytest.mark.parametrize(("name", "device"), MODELS)
def test_recommend_contract(name, device, planted, spark):
    tables, history, synth, user_ids, item_ids = planted
    user_items = history.user_items
    model = fit(name, tables, user_items, device, spark)
    users = np.arange(tables.n_users)
    ids, scores = model.recommend(users, history, K)

    assert model.name == name
    assert ids.shape == scores.shape == (len(users), K)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert ((ids >= 0) & (ids < tables.n_items) | (ids == -1)).all()
    valid = ids >= 0
    assert np.all(np.diff(np.where(valid, scores, -np.inf), axis=1) <= 1e-6), "scores must be best first"
    for u in users:
        seen = user_items.indices[user_items.indptr[u] : user_items.indptr[u + 1]]
        assert not np.isin(ids[u][valid[u]], seen).any(), f"user {u} was recommended an item it holds"
    # batch-first: a sub-batch gives the same answer as the whole batch
    sub_ids, _ = model.recommend(users[5:9], history, K)
    assert (sub_ids == ids[5:9]).all()

    # exclude_seen off (the service's exclude_seen=false): held items come back, the rest scores as before
    again_ids, again_scores = model.recommend(users, replace(history, exclude_seen=False), K)
    assert np.all(np.diff(np.where(again_ids >= 0, again_scores, -np.inf), axis=1) <= 1e-6)
    held_again = 0
    for u in users:
        is_held = np.isin(again_ids[u], user_items.indices[user_items.indptr[u] : user_items.indptr[u + 1]])
        held_again += is_held.sum()
        if name != "blend":  # the blend's lists are cut at a depth, so held items change which others make it
            new = again_scores[u][~is_held & (again_ids[u] >= 0)]
            assert new == pytest.approx(scores[u][: len(new)], rel=1e-5), f"user {u}"
    assert held_again > len(users), f"{name}: {held_again} held items in {len(users)} unfiltered lists"

    if name == "popularity":  # not personalised: the most-held items each user lacks, in order
        order = np.argsort(-model.item_users_, kind="stable")
        first_unseen = [next(i for i in order if user_items[u, i] == 0) for u in users]
        assert ids[:, 0].tolist() == first_unseen
    else:  # planted quality: personalised models recommend the playlist's own taste cluster
        share = np.mean(
            [
                planted_cluster(synth, item_ids[i]) == playlist_cluster(synth, user_ids[u])
                for u in users
                for i in ids[u]
                if i >= 0
            ]
        )
        assert share > 0.8, f"{name}: only {share:.0%} of recommendations in the playlist's cluster"


def planted_cluster(synth, item_id):
    return synth.tracks.row(int(item_id[1:]), named=True)["cluster"]


def playlist_cluster(synth, user_id):
    """A playlist's cluster is the one its first track was drawn from."""
    first = synth.clicks.filter((pl.col("user_id") == user_id) & (pl.col("position") == 0))["item_id"][0]
    return planted_cluster(synth, first)


def test_top_k_masks_seen_and_pads():
    import scipy.sparse as sp

    scores = np.array([[0.1, 0.9, 0.5, 0.3], [1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 1, 1, 0]]))
    ids, best = top_k(scores, seen, 5)
    assert ids.tolist() == [[2, 3, 0, -1, -1], [3, -1, -1, -1, -1]]
    assert best[0, :3].tolist() == pytest.approx([0.5, 0.3, 0.1])
    assert np.isneginf(best[1, 1:]).all()
