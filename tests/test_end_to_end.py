"""Synthetic log -> spark-submit the job -> uvicorn in a subprocess -> HTTP queries with known answers."""

import json
from collections import Counter

import numpy as np
import polars as pl
import pytest

from recsys.artifacts import resolve, verify
from recsys.bundle.reader import LoadedBundle
from recsys.registry import names
from tests.conftest import republish, run_build_job, run_job

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.serve]


def test_bundle_is_complete_and_verifies(built):
    folder, synth = built
    bundle = resolve(folder / "artifacts", "e2e")
    manifest = verify(bundle)
    assert manifest["counts"]["interactions"] == synth.clicks.height
    assert manifest["counts"]["rejects"] == 0
    assert manifest["counts"]["users"] == 1500
    assert manifest["config"]["item2vec"]["epochs"] == 10  # --set reached the job
    assert manifest["models_fitted_on"] == "the whole log"  # 20% of playlists held out: far over refit_above
    assert manifest["item2vec_schedule"] == {"epochs": 10, "alpha": 0.025}  # a small log trains as configured
    stages = [entry["stage"] for entry in manifest["stages"]]
    for expected in (
        "id maps",
        "evaluation / item2vec",
        "evaluation / ranking / blend",
        "models on the full log / als",
    ):
        assert expected in stages, stages
    assert len(manifest["input"]["fingerprint"]) == 64
    report = json.loads((bundle / "report.json").read_text())
    assert set(report["models"]) == {
        "popularity",
        "cooccurrence",
        "sequential",
        "item2vec",
        "als",
        "ease",
        "user_knn",
        "blend",
        "ranker",
        "implicit_direct",
    }
    assert report["version"] == bundle.name and manifest["evaluation"] == report["models"]
    assert "models/ease.npz" in manifest["files"]  # 300 items: small enough for EASE's dense solve
    # the trees: trained on a split carved from the evaluation's training part, kept as LightGBM's text
    assert "models/ranker.txt" in manifest["files"] and "evaluation / ranker: trees" in stages
    assert report["ranker"]["trees"] >= 1 and report["ranker"]["users"] >= 1000
    served = LoadedBundle.load(bundle).models["blend"]  # the service fuses what the evaluation fused
    assert [model.name for model in served.models] == [
        "cooccurrence",
        "sequential",
        "item2vec",
        "als",
        "ease",
        "user_knn",
    ]
    for written in ("report.md", "report.html", "recall_at_k.png"):  # the same reports jobs/evaluate.py writes
        assert written in manifest["files"], written
    # planted transitions and clusters make every personalised model far better than popularity
    pop = report["models"]["popularity"]["recall@10"]
    for model in ("cooccurrence", "sequential", "item2vec", "als", "ease", "user_knn", "blend", "ranker"):
        assert report["models"][model]["recall@10"] > 3 * pop


def test_service_answers_over_http(built, service):
    folder, synth = built
    version = service.get("/healthz").json()["version"]
    assert version == resolve(folder / "artifacts", "e2e").name

    clusters = dict(zip(synth.tracks["item_id"], synth.tracks["cluster"], strict=True))
    first_items = synth.clicks.filter(synth.clicks["position"] == 0)
    in_cluster, own_cluster_largest = [], []
    for user, first in first_items.select("user_id", "item_id").head(50).iter_rows():
        response = service.get("/recommend", user=user, k=10, model="als")
        assert response.status_code == 200
        body = response.json()
        assert (body["user"], body["model"], body["version"]) == (user, "als", version)
        assert len(body["items"]) == 10
        counts = Counter(item["cluster"] for item in body["items"])  # metadata travels with every item
        in_cluster.append(counts[str(clusters[first])])
        own_cluster_largest.append(counts[str(clusters[first])] == max(counts.values()))
    # chance is 1 in 6 clusters; ALS measured 86% of recommendations in the playlist's cluster (80% for 3-5 items)
    assert len(in_cluster) == 50 and sum(in_cluster) >= 0.8 * 500, in_cluster
    assert sum(own_cluster_largest) >= 45, own_cluster_largest

    similar = service.get("/similar-items", item="t0", k=5).json()
    assert similar["item"] == "t0" and len(similar["items"]) == 5 and "t0" not in [i["item"] for i in similar["items"]]
    assert sum(i["cluster"] == str(clusters["t0"]) for i in similar["items"]) >= 4
    users = service.get("/similar-users", user="p0", k=5).json()
    assert len(users["users"]) == 5 and "p0" not in [u["user"] for u in users["users"]]


def test_models_lists_every_family_with_the_bundles_own_metrics(built, service):
    folder, _ = built
    report = json.loads((resolve(folder / "artifacts", "e2e") / "report.json").read_text())
    listed = service.get("/models").json()
    assert [m["name"] for m in listed["models"]] == list(names())  # 300 items: EASE too
    assert listed["split"] == report["split"] and listed["version"] == report["version"]
    assert all(m["metrics"] == report["models"][m["name"]] for m in listed["models"])
    recall = {m["name"]: m["metrics"]["recall@10"] for m in listed["models"]}
    best = max(recall, key=recall.__getitem__)  # serving.default_model=auto: the bundle's measured best
    assert [m["name"] for m in listed["models"] if m["default"]] == [best] == [listed["default"]["name"]]
    assert listed["default"]["why"].startswith("the best recall@10 of the models this bundle serves")
    assert f"{recall[best]:.4f}" in listed["default"]["why"]


def test_a_request_naming_no_model_gets_the_bundles_measured_best(service):
    """GET and POST /recommend and /recommend/batch without model= answer with what GET /models marks, exactly as
    when it is named; a name still wins."""
    best = service.get("/models").json()["default"]["name"]
    assert best != "als"  # so that an answer from the old default would fail below
    plain, named = (service.get("/recommend", user="p3", k=10, **extra).json() for extra in ({}, {"model": best}))
    assert plain["model"] == best and plain["items"] == named["items"]
    assert service.get("/recommend", user="p3", k=10, model="als").json()["model"] == "als"
    batch = service.post("/recommend/batch", {"users": ["p3"], "k": 10}).json()
    assert batch["model"] == best and batch["results"][0]["items"] == named["items"]
    items = ["t4", "t17", "t4"]
    new, named_new = (
        service.post("/recommend", {"items": items, "k": 5} | extra).json() for extra in ({}, {"model": best})
    )
    assert new["model"] == best and new["items"] == named_new["items"]


@pytest.fixture(scope="module")
def loaded(built):
    """The e2e bundle loaded in this process, as the service loads it."""
    return LoadedBundle.load(resolve(built[0] / "artifacts", "e2e"))


@pytest.mark.parametrize("model", names())
def test_every_model_is_served_by_name(built, service, loaded, model):
    """/recommend?model= answers that model's own list (the family of that name, asked directly), best first,
    held items excluded, for every family, the blend and the ranker."""
    folder, synth = built
    body = service.get("/recommend", user="p3", k=10, model=model).json()
    assert body["model"] == model and len(body["items"]) == 10
    named = loaded.models[model]
    assert named.name == model
    ids, _ = named.recommend(np.array([loaded.user("p3")]), loaded.history, 10)
    assert [item["item"] for item in body["items"]] == [loaded.item_ids[i] for i in ids[0]]
    held = set(synth.clicks.filter(synth.clicks["user_id"] == "p3")["item_id"])
    assert not held & {item["item"] for item in body["items"]}
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("model", ["als", "item2vec", "blend"])
def test_exclude_seen_false_lets_held_items_back(built, service, model):
    """exclude_seen=false: what the user holds may come back; what it does not hold scores as it did (the
    blend's lists are cut at a depth, so there held items change which others make it)."""
    _, synth = built
    held_back = 0
    for user in ("p3", "p40", "p777"):
        held = set(synth.clicks.filter(synth.clicks["user_id"] == user)["item_id"])
        new_only = service.get("/recommend", user=user, k=20, model=model).json()["items"]
        again = service.get("/recommend", user=user, k=20, model=model, exclude_seen="false").json()
        assert again["model"] == model and len(again["items"]) == 20
        held_back += sum(item["item"] in held for item in again["items"])
        if model != "blend":
            scores = [item["score"] for item in again["items"] if item["item"] not in held]
            assert scores == pytest.approx([item["score"] for item in new_only][: len(scores)], rel=1e-5)
    assert held_back >= 3, f"{held_back} held items in three users' top 20"


def test_served_item2vec_ranks_as_its_vectors_say(built, service):
    """The service's next-song ranking, recomputed here from the bundle's files with numpy alone: the mean input
    vector of the playlist's latest context_items tracks against every output vector, held tracks excluded."""
    from recsys import layout

    folder, synth = built
    bundle = resolve(folder / "artifacts", "e2e")
    context = verify(bundle)["config"]["item2vec"]["context_items"]
    items = pl.read_parquet(bundle / layout.ITEMS / "*.parquet").sort("item_idx")["item_id"].to_list()
    index = {item: i for i, item in enumerate(items)}
    inputs, outputs = np.load(bundle / layout.ITEM2VEC_ITEM_VECTORS), np.load(bundle / layout.ITEM2VEC_OUTPUT_VECTORS)
    for user in ("p3", "p40", "p777"):
        playlist = synth.clicks.filter(pl.col("user_id") == user).sort("position")["item_id"].to_list()
        scores = inputs[[index[i] for i in playlist[-context:]]].mean(axis=0) @ outputs.T
        scores[[index[i] for i in playlist]] = -np.inf
        expected = [items[i] for i in np.argsort(-scores, kind="stable")[:10]]
        served = service.get("/recommend", user=user, k=10, model="item2vec").json()["items"]
        assert [i["item"] for i in served] == expected, user


def test_each_item_carries_its_own_catalogue_row_on_both_sides_of_the_cell_read_cut_over(built):
    """Short answers read metadata cell by cell, long ones with one pyarrow take: both give each item its row."""
    from recsys import layout
    from recsys.bundle.reader import CELL_READS_BELOW

    folder, _ = built
    bundle = resolve(folder / "artifacts", "e2e")
    catalogue = {row.pop("item_id"): row for row in pl.read_parquet(bundle / layout.ITEMS / "*.parquet").to_dicts()}
    loaded = LoadedBundle.load(bundle)
    columns = loaded.metadata.num_columns
    assert columns == 2  # title and cluster
    for k in (1, CELL_READS_BELOW // columns - 1, CELL_READS_BELOW // columns, 100):
        ids = np.random.default_rng(k).permutation(len(loaded.item_ids))[:k]  # scattered positions, any order
        described = loaded.describe_items(ids, np.linspace(1.0, 0.0, k))
        assert [d["item"] for d in described] == [loaded.item_ids[i] for i in ids]
        for d in described:
            row = catalogue[d["item"]]
            assert (d["title"], d["cluster"]) == (row["title"], row["cluster"])
            assert row["item_idx"] == loaded.item_index[d["item"]]


def test_a_new_user_folded_in_gets_what_a_trained_user_with_the_same_items_gets(built, service):
    """POST /recommend solves the user's ALS factors from its items alone; for a playlist the model was trained
    on, that must give (nearly) the list GET /recommend gives it. Measured 98.7% top-10 overlap on yes_small."""
    folder, synth = built
    overlaps = []
    for user in [f"p{i}" for i in range(0, 1500, 75)]:
        items = synth.clicks.filter(synth.clicks["user_id"] == user)["item_id"].to_list()
        folded = service.post("/recommend", {"items": items, "k": 10, "model": "als"})
        assert folded.status_code == 200, folded.text
        body = folded.json()
        assert body["model"] == "als" and body["items_in"] == items
        got = [i["item"] for i in body["items"]]
        assert not set(got) & set(items)
        trained = [i["item"] for i in service.get("/recommend", user=user, k=10, model="als").json()["items"]]
        overlaps.append(len(set(got) & set(trained)) / 10)
    assert np.mean(overlaps) > 0.9, overlaps


@pytest.mark.parametrize("model", ["item2vec", "cooccurrence", "ease"])
def test_a_new_user_by_a_model_that_reads_its_items_gets_exactly_what_a_trained_user_with_them_gets(
    built, service, model
):
    """A model that reads a user's items needs no solve: item2vec's next song after the latest of the given items,
    co-occurrence's and EASE's scores from them, the same numbers as for the trained playlist with those items in
    that order."""
    _, synth = built
    for user in ("p3", "p40", "p777"):
        items = synth.clicks.filter(pl.col("user_id") == user).sort("position")["item_id"].to_list()
        new = service.post("/recommend", {"items": items, "k": 10, "model": model})
        assert new.status_code == 200, new.text
        assert new.json()["model"] == model and new.json()["items_in"] == items
        trained = service.get("/recommend", user=user, k=10, model=model).json()
        assert new.json()["items"] == trained["items"], user


def new_user_overlaps(service, synth, users, model):
    """POST /recommend for each of ``users``' items as a new user by ``model``: the share of its top 10 that the
    trained playlist's GET /recommend lists too."""
    overlaps = []
    for user in users:
        items = synth.clicks.filter(pl.col("user_id") == user).sort("position")["item_id"].to_list()
        new = service.post("/recommend", {"items": items, "k": 10, "model": model})
        assert new.status_code == 200, new.text
        got = [i["item"] for i in new.json()["items"]]
        assert new.json()["model"] == model and len(got) == 10 and not set(got) & set(items)
        trained = [i["item"] for i in service.get("/recommend", user=user, k=10, model=model).json()["items"]]
        overlaps.append(len(set(got) & set(trained)) / 10)
    return overlaps


def test_a_new_user_blended_gets_what_a_trained_user_with_the_same_items_gets(built, service):
    """POST /recommend model=blend: every member reads the new user's items (ALS folds it in) and their lists are
    fused as for a trained playlist, whose GET /recommend list it (nearly) matches."""
    overlaps = new_user_overlaps(service, built[1], [f"p{i}" for i in range(0, 1500, 150)], "blend")
    assert np.mean(overlaps) >= 0.9, overlaps


def test_a_new_user_ranked_by_the_trees_gets_what_a_trained_user_with_the_same_items_gets(built, service):
    """POST /recommend model=ranker: every member reads the new user's items (ALS folds it in) and the trees rank
    their candidates; for a playlist the models were trained on, close to what GET gives it (measured 97% top-10
    overlap over these ten playlists). POST /recommend/batch ranks as GET does."""
    users = [f"p{i}" for i in range(0, 1500, 150)]
    overlaps = new_user_overlaps(service, built[1], users, "ranker")
    assert np.mean(overlaps) >= 0.85, overlaps
    batch = service.post("/recommend/batch", {"users": users, "k": 10, "model": "ranker"}).json()
    assert [r["items"] for r in batch["results"]] == [
        service.get("/recommend", user=user, k=10, model="ranker").json()["items"] for user in users
    ]


def test_the_pruned_als_index_serves_what_the_flat_one_does(built, service, serve, tmp_path):
    """The ``pruned`` kind (what bundles above ``index.exact_below`` items get) is exact: over HTTP, with held
    items excluded inside its scan and for folded-in users, it answers as the flat index of the small bundle."""
    import shutil

    from recsys import layout
    from recsys.index import build_index, save_index
    from recsys.settings import IndexSettings

    folder, synth = built
    artifacts = tmp_path / "artifacts"
    shutil.copytree(folder / "artifacts", artifacts)
    factors = np.load(resolve(artifacts, "e2e") / layout.ALS_ITEM_FACTORS)
    save_index(build_index(factors, "ip", IndexSettings(kind="pruned")), tmp_path / "pruned.faiss")
    republish(artifacts, "e2e", {layout.INDEX_ITEMS_ALS: tmp_path / "pruned.faiss"})
    pruned = serve(artifacts, "e2e")
    for user in [f"p{i}" for i in range(0, 1500, 50)]:
        flat_answer, pruned_answer = (
            s.get("/recommend", user=user, k=20, model="als").json()["items"] for s in (service, pruned)
        )
        assert [i["item"] for i in pruned_answer] == [i["item"] for i in flat_answer], user
        assert [i["score"] for i in pruned_answer] == pytest.approx([i["score"] for i in flat_answer], rel=1e-4)
    items = synth.clicks.filter(synth.clicks["user_id"] == "p7")["item_id"].to_list()
    folded = [
        s.post("/recommend", {"items": items, "k": 10, "model": "als"}).json()["items"] for s in (service, pruned)
    ]
    assert [i["item"] for i in folded[1]] == [i["item"] for i in folded[0]]


def test_fused_answers_are_as_long_as_asked_past_the_blend_depth(service):
    """blend.depth is 100; k up to serving.max_k still gets k items (each model ranks k deep then)."""
    assert len(service.get("/recommend", user="p0", k=150, model="blend").json()["items"]) == 150
    assert len(service.get("/next", items="t4,t17", k=150).json()["items"]) == 150


def test_next_can_skip_the_tracks_a_bundle_does_not_know(service):
    strict = service.get("/next", items="t4,nope1,t17,nope2", k=5)
    assert strict.status_code == 404 and strict.json()["error"] == "unknown items 'nope1,nope2'"
    skipping = service.get("/next", items="t4,nope1,t17,nope2", k=5, skip_unknown="true")
    known = service.get("/next", items="t4,t17", k=5)
    assert skipping.status_code == 200 and skipping.json()["skipped"] == ["nope1", "nope2"]
    assert skipping.json()["items_in"] == ["t4", "t17"] and skipping.json()["items"] == known.json()["items"]
    assert known.json()["skipped"] == []
    nothing_known = service.get("/next", items="nope1", skip_unknown="true")
    assert nothing_known.status_code == 404 and nothing_known.json()["parameter"] == "items"


@pytest.mark.parametrize(
    ("body", "status", "parameter"),
    [
        ({"items": ["t0", "nothing"]}, 404, "items"),
        ({"items": []}, 422, "items"),
        ({}, 422, "items"),
        ({"items": ["t0"], "k": 0}, 422, "k"),
        ({"items": ["t0"], "k": 501}, 422, "k"),
        ({"items": ["t0"], "model": "title"}, 422, "model"),  # a name, not items, is what the title model reads
        ({"items": ["t0"], "kk": 5}, 422, "kk"),  # a mistyped key is not silently ignored
        ({"items": ["t0"], "k": True}, 422, "k"),  # nor a boolean taken for 1
        ({"items": ["t0"], "k": "5"}, 422, "k"),
    ],
)
def test_bad_new_user_bodies_get_json_errors_naming_the_field(service, body, status, parameter):
    response = service.post("/recommend", body)
    assert response.status_code == status
    assert response.json()["parameter"] == parameter


def test_unknown_user_falls_back_to_popular_items_only_when_asked(built, service):
    folder, synth = built
    body = service.get("/recommend", user="nobody", k=5, fallback="popular").json()
    assert body["fallback"] is True and body["model"] == "popularity"
    holders = synth.clicks.group_by("item_id").agg(pl.col("user_id").n_unique().alias("n"))
    top = body["items"][0]
    assert top["score"] == holders["n"].max()
    assert top["item"] in holders.filter(pl.col("n") == holders["n"].max())["item_id"].to_list()
    known = service.get("/recommend", user="p0", k=5, fallback="popular", model="als").json()
    assert known["fallback"] is False and known["model"] == "als"  # a known user is never a fallback
    assert service.get("/recommend", user="nobody", k=5).status_code == 404  # without fallback: 404 as before


def test_next_follows_the_planted_successor(built, service):
    """The log plays each track's planted successor next half the time: /next must rank it high for most tracks."""
    folder, synth = built
    tracks = synth.tracks["item_id"].to_list()
    hits = 0
    for track in tracks[:60]:
        body = service.get("/next", items=track, k=5).json()
        assert body["items_in"] == [track] and track not in {i["item"] for i in body["items"]}
        assert body["model"] == "item2vec+sequential+cooccurrence"
        hits += f"t{synth.successor[int(track[1:])]}" in {i["item"] for i in body["items"]}
    assert hits >= 54, f"planted successor in the top 5 for {hits} of 60 tracks"  # measured 60 of 60


@pytest.mark.parametrize(
    ("path", "params", "status", "parameter"),
    [
        ("/recommend", {"user": "nobody"}, 404, "user"),
        ("/similar-users", {"user": "nobody"}, 404, "user"),
        ("/similar-items", {"item": "nothing"}, 404, "item"),
        ("/recommend", {"user": "p0", "k": "0"}, 422, "k"),
        ("/recommend", {"user": "p0", "k": "abc"}, 422, "k"),
        ("/recommend", {"user": "p0", "k": "501"}, 422, "k"),
        ("/recommend", {}, 422, "user"),
        ("/recommend", {"user": "p0", "model": "svd"}, 422, "model"),
        ("/recommend", {"user": "p0", "fallback": "random"}, 422, "fallback"),
        ("/recommend", {"user": "p0", "exclude_seen": "maybe"}, 422, "exclude_seen"),
        ("/next", {"items": "t0,nothing"}, 404, "items"),
        ("/next", {"items": ","}, 422, "items"),
        ("/next", {}, 422, "items"),
    ],
)
def test_bad_requests_get_json_errors_naming_the_parameter(service, path, params, status, parameter):
    response = service.get(path, **params)
    assert response.status_code == status
    body = response.json()
    assert body["parameter"] == parameter
    assert parameter in body["error"]


def test_failed_job_leaves_the_live_bundle_alone(built, tmp_path):
    folder, _ = built
    live = resolve(folder / "artifacts", "e2e")
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,count\n" + "u1,a,1\n" * 10 + "u2,b,-3\n" * 5)
    job = run_build_job("--input", str(bad), "--format", "long", "--output", str(folder / "artifacts"), "--name", "e2e")
    assert job.returncode == 2
    output = job.stdout + job.stderr  # spark-submit merges the driver's stderr into stdout
    assert f"{bad}: 5 of 15 rows" in output and "count must be positive (5 rows), first: 'u2,b,-3'" in output
    assert resolve(folder / "artifacts", "e2e") == live
    assert not list((folder / "artifacts" / "e2e").glob(".staging-*"))

    # the same input under a looser --max-reject-ratio builds, with its bad rows kept in rejects and counted
    job = run_build_job(
        "--input",
        str(bad),
        "--format",
        "long",
        "--output",
        str(tmp_path / "out"),
        "--name",
        "loose",
        "--max-reject-ratio",
        "0.5",
        "--set",
        "evaluation.enabled=false",
        "--set",
        "item2vec.epochs=1",
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    # the JVM's heap handed back once, before the models train in Python (no evaluation: no split to hand it back)
    assert (job.stdout + job.stderr).count("driver heap:") == 1
    manifest = verify(resolve(tmp_path / "out", "loose"))
    assert (manifest["counts"]["rejects"], manifest["counts"]["interactions"]) == (5, 10)
    assert manifest["config"]["input"]["max_reject_ratio"] == 0.5


def test_a_build_that_held_out_a_sliver_publishes_the_models_it_evaluated(built, tmp_path):
    """Where the evaluation held out at most evaluation.refit_above of the log (a very large log's 10,000 users),
    the evaluated models are published instead of fitting every model a second time."""
    folder, synth = built
    job = run_build_job(
        *("--input", str(folder / "clicks.csv"), "--format", "long", "--output", str(tmp_path), "--name", "once"),
        *("--set", "item2vec.epochs=2", "--set", "evaluation.refit_above=1.0", "--set", "evaluation.max_users=100"),
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    bundle = resolve(tmp_path, "once")
    manifest = verify(bundle)
    assert manifest["models_fitted_on"] == "the evaluation's training part"
    stages = [entry["stage"] for entry in manifest["stages"]]
    assert "evaluation / als" in stages and "models on the full log / als" not in stages
    report = json.loads((bundle / "report.json").read_text())
    assert report["test_users"] <= 100 and 50 < report["held_out_users"] < 150  # about 100 held out, not 20% (300)
    assert manifest["counts"]["ratings"] == synth.clicks.select("user_id", "item_id").unique().height  # the whole log
    assert LoadedBundle.load(bundle).recommend("p0", 5)  # and it serves


def test_printed_curl_examples_work_as_printed(built, service):
    """make demo ends with these lines; each must answer 200 from a service on the printed port."""
    import re
    import subprocess
    import sys

    import httpx

    folder, _ = built
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "serving",
            "--artifacts",
            str(folder / "artifacts"),
            "--name",
            "e2e",
            "--port",
            str(service.port),
            "--print-examples",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    urls = re.findall(r"curl '([^']+)'", printed)
    assert len(urls) == 10
    for url in urls:
        assert httpx.get(url, timeout=10).status_code == 200, url
    pages = re.findall(r"open the page in a browser: (\S+)  \(or a user's: (\S+)\)", printed)
    assert pages and all(httpx.get(url, timeout=10).headers["content-type"].startswith("text/html") for url in pages[0])
    posts = re.findall(r"curl -X POST '([^']+)' -H 'Content-Type: application/json' -d '([^']+)'", printed)
    assert len(posts) == 1
    for url, body in posts:
        assert httpx.post(url, content=body, headers={"Content-Type": "application/json"}).status_code == 200, url


def test_recommend_all_writes_every_users_top_k_as_als_ranks_them(built, tmp_path):
    import numpy as np
    import polars as pl

    from recsys import layout
    from recsys.matrices import read_user_items
    from recsys.models import ALS, History
    from recsys.settings import ALSSettings

    folder, synth = built
    job = run_job(
        "recommend_all.py",
        "--artifacts",
        str(folder / "artifacts"),
        "--name",
        "e2e",
        "--output",
        str(tmp_path / "recs"),
        "--k",
        "5",
    )
    assert job.returncode == 0, job.stdout[-3000:]
    recs = pl.read_parquet(tmp_path / "recs" / "*.parquet")
    assert recs.columns == ["user_id", "rank", "item_id", "score"]
    assert recs["user_id"].n_unique() == synth.clicks["user_id"].n_unique()
    assert recs.group_by("user_id").len()["len"].max() == 5

    bundle = resolve(folder / "artifacts", "e2e")
    users = pl.read_parquet(bundle / layout.USERS / "*.parquet").sort("user_idx")["user_id"].to_list()
    items = pl.read_parquet(bundle / layout.ITEMS / "*.parquet").sort("item_idx")["item_id"].to_list()
    seen = read_user_items(str(bundle / layout.RATINGS), len(users), len(items))
    als = ALS.from_factors(
        ALSSettings(), np.load(bundle / layout.ALS_USER_FACTORS), np.load(bundle / layout.ALS_ITEM_FACTORS)
    )
    sample = np.arange(0, len(users), 97)
    expected, _ = als.recommend(sample, History(seen, np.full((len(users), 1), -1)), 5)
    for row, u in enumerate(sample):
        got = recs.filter(pl.col("user_id") == users[u]).sort("rank")["item_id"].to_list()
        assert got == [items[i] for i in expected[row]], f"user {users[u]}"


def test_recommend_all_names_a_missing_bundle(tmp_path):
    job = run_job(
        "recommend_all.py", "--artifacts", str(tmp_path), "--name", "nothing", "--output", str(tmp_path / "o")
    )
    assert job.returncode == 2 and "no published bundle" in job.stdout + job.stderr  # spark-submit merges them
    assert not (tmp_path / "o").exists()


def test_recommend_all_batches_the_cpus_block_on_the_cpu():
    from recsys.models.base import SCORE_BLOCK
    from recsys.recommend_all import score_block

    assert score_block("cpu") == SCORE_BLOCK


@pytest.mark.gpu
def test_recommend_all_batches_more_on_a_gpu_within_its_memory():
    import torch

    from recsys.models.base import SCORE_BLOCK
    from recsys.recommend_all import GPU_SCORE_BLOCK, score_block

    block = score_block("cuda")
    assert SCORE_BLOCK <= block <= GPU_SCORE_BLOCK
    assert block * 16 <= max(torch.cuda.mem_get_info()[0], SCORE_BLOCK * 16)
