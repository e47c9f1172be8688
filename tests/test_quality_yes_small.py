"""Quality on real data: the whole job on ../shared/data/yes_small under the first evaluation protocol.

Measured on 2026-11-22/23 (2 cores, seed 42, 3,412 held-out playlists): popularity recall@10 0.037, co-occurrence
0.183, ALS (BM25 confidence) 0.198, item2vec next-song 0.195-0.200, EASE 0.197, user kNN 0.179 (50 neighbours,
chosen inside the blend; 0.214 with 200), blend 0.223-0.225 (0.214-0.216 with 200 neighbours, 0.209 before EASE).
Thresholds sit a little below those numbers: gensim trains on two threads, so item2vec (and the blend) move a
little between runs.
"""

import json

import polars as pl
import pytest

from recsys.artifacts import resolve, verify
from tests.conftest import run_build_job, shared_dataset

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    data = shared_dataset("yes_small")
    out = tmp_path_factory.mktemp("yes_small")
    job = run_build_job("--input", str(data), "--format", "yes", "--output", str(out), "--name", "yes_small")
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    return out, resolve(out, "yes_small")


def test_counts_match_the_dataset_provenance(bundle):
    _, folder = bundle
    counts = verify(folder)["counts"]
    # 134,431 transitions over 41,480 playlists = 175,911 songs in playlists; 3,168 songs
    assert counts == {**counts, "interactions": 175_911, "rejects": 0, "users": 41_480, "items": 3_168}


def test_models_beat_popularity_by_the_measured_margins(bundle):
    _, folder = bundle
    report = json.loads((folder / "report.json").read_text())
    recall = {name: m["recall@10"] for name, m in report["models"].items()}
    assert report["test_users"] > 3000
    assert 0.025 < recall["popularity"] < 0.05
    assert recall["als"] >= 3 * recall["popularity"]
    assert recall["als"] > 0.19  # linear confidence gave 0.164
    assert recall["cooccurrence"] > 0.17
    assert recall["item2vec"] > 0.185  # next song through the output vectors; mean-vector cosine gave 0.040
    assert recall["ease"] > 0.19
    assert recall["user_knn"] > 0.165  # fewer neighbours than alone would take: they fuse best
    best_baseline = max(recall["cooccurrence"], recall["als"])
    # issue 4's target: >= 10% over the best baseline; measured 12.6-13.6% over ALS here
    # (+11.9% to +15.7% over six splits)
    assert recall["blend"] >= 1.10 * best_baseline, recall


def test_service_serves_titles_and_artists(bundle, serve):
    out, folder = bundle
    service = serve(out, "yes_small")
    body = service.get("/recommend", user="3", k=5).json()
    assert len(body["items"]) == 5 and {"title", "artist"} <= set(body["items"][0])
    # a request naming no model gets the bundle's measured best: the blend here (0.223-0.225), not ALS (0.198)
    report = json.loads((folder / "report.json").read_text())
    assert body["model"] == "blend" == max(report["models"], key=lambda name: report["models"][name]["recall@10"])
    catalogue = pl.read_parquet(folder / "items" / "*.parquet")
    for served in body["items"]:  # each item with its own row's metadata
        row = catalogue.filter(pl.col("item_id") == served["item"]).row(0, named=True)
        assert (served["title"], served["artist"]) == (row["title"], row["artist"])
    similar = service.get("/similar-items", item="0", k=3).json()
    assert similar["version"] == folder.name and len(similar["items"]) == 3


@pytest.fixture(scope="module")
def split(spark, tmp_path_factory):
    """yes_small's test split, as the job makes it: (tables of the rest, held-out users and items)."""
    from recsys import schemas as S
    from recsys.io import InputSpec, read_interactions
    from recsys.matrices import read_holdout
    from recsys.settings import Settings
    from recsys.spark import idmap
    from recsys.spark.protocol import write_split

    settings = Settings()
    interactions = read_interactions(spark, InputSpec(str(shared_dataset("yes_small")), "yes"), settings.input)
    users, items = idmap.user_index(interactions.interactions), idmap.item_index(interactions.interactions)
    indexed = idmap.apply_index(
        interactions.interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
    )
    work = tmp_path_factory.mktemp("yes_small_split")
    paths, _ = write_split(indexed, settings, work, settings.evaluation.seed, users.count(), items.count())
    return paths, *read_holdout(str(work / "holdout"))


def test_torch_als_reaches_implicits_recall(split):
    """Issue 4: the torch CG solver (here on CPU) within 2% relative of implicit's recall@10 on yes_small."""
    from recsys.evaluation.offline import evaluate
    from recsys.matrices import read_history
    from recsys.models import ALS
    from recsys.settings import ALSSettings

    paths, users, held = split
    history = read_history(paths.ratings, paths.sequences, paths.n_users, paths.n_items, 1)
    recall = {}
    for backend in ("implicit", "torch"):
        model = ALS(ALSSettings(backend=backend, use_gpu="false"))
        model.name = backend
        result = evaluate([model.fit(history.user_items)], history, users, held, 10)
        recall[backend] = result.metrics[backend]["recall@10"]
    assert recall["implicit"] > 0.18  # measured 2026-11-22 with the tuned defaults (bm25, alpha 1)
    assert abs(recall["torch"] - recall["implicit"]) <= 0.02 * recall["implicit"], recall
