"""Adding a model is one module and one registry line: a toy family registered here, in the test alone, is trained
by the build, saved and checksummed in the bundle, loaded by the reader, served by name, listed by GET /models
and scored by the build's evaluation, with no other file of the project touched. The service runs in this process
(FastAPI's TestClient, its lifespan included), not under uvicorn as elsewhere: the toy exists in this test alone."""

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recsys import registry
from recsys.artifacts import verify
from recsys.bundle.reader import LoadedBundle
from recsys.io import InputSpec
from recsys.layout import writable
from recsys.matrices import History
from recsys.models.base import Inputs, recommend_by_scoring
from recsys.pipeline import BuildRequest, build_bundle
from recsys.settings import load_settings
from recsys.synth import SynthConfig, generate
from serving.app import create_app

pytestmark = pytest.mark.spark

TOY_FILE = "vectors/toy_scores.npy"


class Toy:
    """Recommends the items with the highest index first: a ranking anyone can check by hand."""

    name = "toy"

    @classmethod
    def train(cls, inputs: Inputs, settings: None = None) -> "Toy":
        toy = cls()
        toy.scores_ = np.arange(inputs.tables.n_items, dtype=np.float32)
        return toy

    def save(self, folder: Path) -> None:
        np.save(writable(folder, TOY_FILE), self.scores_)

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: None = None) -> "Toy":
        toy = cls()
        toy.scores_ = np.load(folder / TOY_FILE)
        return toy

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        return recommend_by_scoring(lambda rows: np.tile(self.scores_, (len(rows.recent), 1)), users, history, k)


def test_a_family_registered_in_a_test_goes_through_the_build_the_bundle_and_the_service(spark, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "FAMILIES", (*registry.FAMILIES, Toy))  # the one registry line
    synth = generate(SynthConfig(playlists=300, tracks=60, clusters=3, seed=2))
    synth.clicks.write_csv(tmp_path / "clicks.csv")
    settings = load_settings(["item2vec.epochs=2", "als.iterations=2"])
    request = BuildRequest(InputSpec(str(tmp_path / "clicks.csv"), "long"), str(tmp_path / "out"), "toy")
    folder = build_bundle(spark, request, settings)

    manifest = verify(folder)  # trained, saved and checksummed
    assert TOY_FILE in manifest["files"] and "toy" in manifest["evaluation"]  # scored by the build's evaluation
    assert 0 <= manifest["evaluation"]["toy"]["recall@10"] <= 1

    bundle = LoadedBundle.load(folder)  # loaded by the reader
    user = "p0"
    held = set(bundle.history.user_items[bundle.user(user)].indices.tolist())
    expected = [bundle.item_ids[i] for i in range(len(bundle.item_ids) - 1, -1, -1) if i not in held][:5]
    assert [item["item"] for item in bundle.recommend(user, 5, "toy")] == expected

    served = settings.model_copy(update={"serving": settings.serving.model_copy(update={"load_in_background": False})})
    with TestClient(create_app(tmp_path / "out", "toy", served)) as client:  # served by name, listed
        answer = client.get("/recommend", params={"user": user, "k": 5, "model": "toy"})
        assert answer.status_code == 200 and [item["item"] for item in answer.json()["items"]] == expected
        listed = {model["name"]: model for model in client.get("/models").json()["models"]}
        assert "toy" in listed and listed["toy"]["metrics"]["recall@10"] == manifest["evaluation"]["toy"]["recall@10"]
