"""One contract every registered model family passes, on every device it supports; the registry is the one list."""

import importlib
import pkgutil
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

import recsys.models
from recsys.models.base import Family, Inputs, Registered, top_k
from recsys.registry import FAMILIES, names, registered, section, train_all
from recsys.settings import (
    ALSSettings,
    BlendSettings,
    EaseSettings,
    Item2VecSettings,
    RankerSettings,
    Settings,
    UserKNNSettings,
)
from tests.conftest import planted_ranker

pytestmark = pytest.mark.spark

K = 10
#: Small and quick on the planted log (the defaults are tuned for real data).
SETTINGS = Settings(
    als=ALSSettings(factors=16, iterations=10),
    item2vec=Item2VecSettings(epochs=10, workers=1),
    ease=EaseSettings(l2=10.0, top_n=50),
    user_knn=UserKNNSettings(neighbours=20),
    blend=BlendSettings(als=1.0, item2vec=1.0, cooccurrence=0.5, ease=0.5, user_knn=0.5, depth=30, rank_offset=10.0),
    ranker=RankerSettings(candidates=30, min_data_in_leaf=20, leaves=15, patience=20, threads=1),
)
FAMILY = {family.name: family for family in FAMILIES}


def fit(name, inputs, planted, device="false"):
    """The family ``name`` trained as the build trains it; for ALS, on ``device`` (spark, torch, or the default
    backend's use_gpu value): the backend is chosen where ALS is, from the settings. The ranker learns the planted log's
    next songs over every family's candidates."""
    backend, use_gpu = {"spark": ("spark", "false"), "torch": ("torch", "false")}.get(device, ("auto", device))
    settings = SETTINGS.model_copy(
        update={"als": SETTINGS.als.model_copy(update={"backend": backend, "use_gpu": use_gpu})}
    )
    if name == "blend":
        return train_all(inputs, settings)["blend"]
    if name == "ranker":
        return planted_ranker(train_all(inputs, settings), planted, settings)[0]
    return FAMILY[name].train(inputs, section(FAMILY[name], settings))


MODELS = [
    *((name, "false") for name in names()),
    ("als", "spark"),
    ("als", "torch"),
    pytest.param("als", "true", marks=pytest.mark.gpu, id="als-gpu"),
]


def test_every_model_in_recsys_models_is_registered_after_what_it_reads():
    """A class in recsys/models that trains, saves and loads like a registered model is one only if it is
    registered: the build trains, the bundle saves and the service loads the registry's models and nothing else.
    Those built on others come after every family; the ranker after the blend whose candidates it re-ranks."""
    found = set()
    for module in pkgutil.iter_modules(recsys.models.__path__):
        for value in vars(importlib.import_module(f"recsys.models.{module.name}")).values():
            if isinstance(value, type) and all(hasattr(value, verb) for verb in ("train", "save", "load")):
                found.add(value)
    assert found - {Family, Registered} == set(registered())
    order = [model.name for model in registered()]
    assert order[: len(FAMILIES)] == [family.name for family in FAMILIES]
    assert order.index("blend") < order.index("ranker") and "title" not in names()  # a name, not a user, is its query
    assert set(BlendSettings.model_fields) - {"depth", "rank_offset", "title"} <= set(names())  # weights name models


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_a_saved_family_loads_back_and_ranks_the_same(family, planted, tmp_path):
    tables, history, *_ = planted
    inputs = Inputs(tables, history)
    model = family.train(inputs, section(family, SETTINGS))
    model.save(tmp_path)
    for path in tmp_path.rglob("*.np[yz]"):  # arrays only: nothing a bundle holds needs pickle to load
        np.load(path, allow_pickle=False)
    loaded = family.load(tmp_path, inputs, section(family, SETTINGS))
    users = np.arange(40)
    np.testing.assert_array_equal(loaded.recommend(users, history, K)[0], model.recommend(users, history, K)[0])


def test_a_family_left_out_of_a_build_is_absent_from_the_bundle(planted, tmp_path):
    tables, history, *_ = planted
    small = SETTINGS.model_copy(update={"ease": EaseSettings(max_items=tables.n_items - 1)})
    models = train_all(Inputs(tables, history), small)
    assert "ease" not in models and "ease" not in [m.name for m in models["blend"].models]
    assert FAMILY["ease"].load(tmp_path, Inputs(tables, history), small) is None


@pytest.mark.parametrize(("name", "device"), MODELS)
def test_recommend_contract(name, device, planted, spark):
    tables, history, synth, user_ids, item_ids = planted
    user_items = history.user_items
    model = fit(name, Inputs(tables, history, spark), planted, device)
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
        if name not in ("blend", "ranker"):  # their members' lists are cut at a depth: held items change the rest
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
