"""Playlist names through the whole build and the service: MPD-shaped slices in, a bundle with named users and a
title model out, and POST /recommend answering a playlist from its name."""

import json
import shlex

import httpx
import numpy as np
import polars as pl
import pytest

from recsys import layout
from recsys import schemas as S
from recsys.artifacts import verify
from recsys.models.title import TitleModel
from recsys.registry import names
from recsys.settings import TitleSettings
from recsys.synth import Catalogue
from recsys.synth.mpd import Names
from tests.conftest import NAMED_CONFIG as CONFIG
from tests.conftest import REPO, Service

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _track_clusters(bundle) -> np.ndarray:
    """The planted cluster of each item, in item_idx order (from the track names the slices carry)."""
    items = pl.read_parquet(bundle / layout.ITEMS / "*.parquet").sort(S.ITEM_IDX)
    cluster_of = Catalogue.of(CONFIG).cluster
    return np.array([cluster_of[int(name.split()[1])] for name in items["track_name"]])


def _unique_word(cluster: int) -> str:
    return Names(CONFIG.clusters, CONFIG.seed).vocabulary(cluster)[1]  # the word no other cluster uses


def test_mpd_names_reach_the_bundle_and_its_title_model(named):
    folder, bundle = named
    manifest = verify(bundle)
    users = pl.read_parquet(bundle / layout.USERS / "*.parquet").sort(S.USER_IDX)
    assert users[S.NAME].null_count() == 0 and manifest["title"]["named_playlists"] == CONFIG.playlists
    first = json.loads((folder / "slices" / "mpd.slice.0-999.json").read_text())["playlists"][0]
    assert users.filter(pl.col(S.USER_ID) == str(first["pid"]))[S.NAME].item() == first["name"]
    assert manifest["title"]["titles"] > 50 and manifest["title"]["words"] >= CONFIG.clusters

    model = TitleModel.load(bundle, None, TitleSettings())
    clusters = _track_clusters(bundle)
    for cluster in range(CONFIG.clusters):
        top = np.argsort(-model.scores([f"{_unique_word(cluster).title()}!!"])[0])[:20]
        assert np.mean(clusters[top] == cluster) >= 0.8, (cluster, clusters[top])


@pytest.fixture(scope="module")
def named_service(named):
    _, bundle = named
    running = Service(bundle.parent.parent, "named")
    running.wait_ready()
    yield running
    running.stop()


def test_a_playlist_is_answered_from_its_name_alone_or_with_seeds(named, named_service):
    _, bundle = named
    clusters = _track_clusters(bundle)
    item_ids = pl.read_parquet(bundle / layout.ITEMS / "*.parquet").sort(S.ITEM_IDX)[S.ITEM_ID].to_list()
    index_of = {item: i for i, item in enumerate(item_ids)}
    word = _unique_word(2)

    alone = named_service.post("/recommend", {"name": f"{word.upper()}!!", "k": 10})
    assert alone.status_code == 200, alone.text
    body = alone.json()
    assert body["model"] == "title" and body["name"] == f"{word.upper()}!!" and body["items_in"] == []
    assert np.mean([clusters[index_of[i["item"]]] == 2 for i in body["items"]]) >= 0.8
    dense = TitleModel.load(bundle, None, TitleSettings()).scores([f"{word.upper()}!!"])[0]
    best = np.sort(dense)[::-1][:10]  # the service ranks sparsely (TitleModel.top): the same scores, exactly
    np.testing.assert_allclose([i["score"] for i in body["items"]], best, rtol=1e-6)
    assert all(dense[index_of[i["item"]]] == pytest.approx(i["score"], rel=1e-6) for i in body["items"])

    seeds = [item_ids[i] for i in np.flatnonzero(clusters == 2)[:3]]
    both = named_service.post("/recommend", {"name": word, "items": seeds, "k": 10, "model": "als"}).json()
    assert both["model"] == "als+title" and len(both["items"]) == 10
    assert not {i["item"] for i in both["items"]} & set(seeds)
    assert np.mean([clusters[index_of[i["item"]]] == 2 for i in both["items"]]) >= 0.8


def test_the_api_docs_name_examples_answer_200(named_service):
    text = (REPO / "docs" / "api.md").read_text().replace("\\\n", " ")
    commands = [shlex.split(line) for line in text.splitlines() if line.startswith("curl ") and '"name"' in line]
    assert commands
    for command in commands:
        body = command[command.index("-d") + 1]
        answer = httpx.post(
            f"{named_service.base}/recommend", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text


def test_a_bundle_without_names_has_no_title_model_and_says_so(built, service):
    folder, _ = built
    root = folder / "artifacts" / "e2e"
    version = root / (root / "LATEST").read_text().strip()
    assert verify(version)["title"] is None and not (version / layout.TITLE_MODEL).exists()
    answer = service.post("/recommend", {"name": "chill", "k": 5})
    assert answer.status_code == 422 and answer.json()["parameter"] == "name"
    assert "knows no playlist names" in answer.json()["error"]


def test_a_bundle_lists_the_models_it_serves_and_refuses_one_it_lacks(named, named_service):
    """No EASE here (over ease.max_items); the ranker, whose trees learnt from a split of the whole log (no
    evaluation ran), is served, and with no evaluation to choose by it is the default (ranker, blend, als)."""
    assert "models/ranker.txt" in verify(named[1])["files"]
    listed = named_service.get("/models").json()
    assert [m["name"] for m in listed["models"]] == [name for name in names() if name != "ease"]
    assert [m["name"] for m in listed["models"] if m["default"]] == ["ranker"] == [listed["default"]["name"]]
    assert listed["default"]["why"] == "no evaluation to choose by: the first this bundle serves of ranker, blend, als"
    assert listed["split"] is None and all(m["metrics"] is None for m in listed["models"])  # no evaluation ran
    answer = named_service.get("/recommend", user="0", k=5, model="ease")
    assert answer.status_code == 422 and answer.json()["parameter"] == "model"
    assert "this bundle serves no ease model" in answer.json()["error"]
