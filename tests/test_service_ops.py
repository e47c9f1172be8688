"""The service as operators run it, over HTTP against real uvicorn processes: readiness, hot reload under load,
metrics, batches, several workers sharing memory-mapped indexes."""

import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from recsys.artifacts import LATEST, BundleError, load_manifest, resolve
from recsys.bundle.reader import LoadedBundle
from tests.conftest import REPO, Service, metric_values, republish

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.serve]

TOKEN = "test-admin-token"


@pytest.fixture
def artifacts(built, tmp_path) -> Path:
    """A private copy of the built artifact root: these tests publish and corrupt versions in it."""
    folder, _ = built
    return Path(shutil.copytree(folder / "artifacts", tmp_path / "artifacts"))


def test_a_service_with_no_bundle_is_alive_not_ready_and_the_watch_loads_the_first_one(built, tmp_path):
    folder, _ = built
    empty = tmp_path / "artifacts"
    empty.mkdir()
    # Nothing published and nothing that could load it later: the command refuses to start, saying why.
    started = subprocess.run(
        [sys.executable, "-m", "serving", "--artifacts", str(empty), "--name", "e2e"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert started.returncode == 2 and "no published bundle" in started.stderr

    service = Service(empty, "e2e", env={"RECSYS__SERVING__WATCH_INTERVAL_S": "0.2"})
    try:
        service.wait_for("/healthz")
        assert service.get("/healthz").json() == {"status": "ok", "version": None}
        ready = service.get("/readyz")
        assert ready.status_code == 503 and "no published bundle" in ready.json()["error"]
        assert "e2e/LATEST does not exist" in ready.json()["error"] and str(empty) not in ready.json()["error"]
        answer = service.get("/recommend", user="p0")
        assert answer.status_code == 503 and answer.json()["error"].startswith("no bundle loaded yet")

        source = resolve(folder / "artifacts", "e2e")
        shutil.copytree(source, empty / "e2e" / source.name)
        shutil.copyfile(source.parent / LATEST, empty / "e2e" / LATEST)  # published last, as the job does
        service.wait_ready(timeout=60)
        assert service.get("/readyz").json()["version"] == source.name
        assert service.get("/recommend", user="p0").status_code == 200
    finally:
        service.stop()


def test_reload_under_load_fails_no_request_and_refuses_a_corrupt_bundle(artifacts, serve):
    env = {"RECSYS__SERVING__ADMIN_TOKEN": TOKEN, "RECSYS__SERVING__DEFAULT_MODEL": "als"}  # a default named
    service = serve(artifacts, "e2e", env=env)
    first = service.get("/readyz").json()["version"]
    default = service.get("/models").json()["default"]
    assert default == {"name": "als", "why": "serving.default_model names it"}
    assert service.get("/recommend", user="p0").json()["model"] == "als"
    stop, answers = threading.Event(), []  # (monotonic start, status, bundle version)

    def load(path: str, params: dict[str, str]) -> None:
        with httpx.Client(base_url=service.base, timeout=30.0) as client:
            while not stop.is_set():
                started = time.monotonic()
                response = client.get(path, params=params)
                answers.append((started, response.status_code, response.json().get("version")))

    routes = [
        ("/recommend", {"user": "p0"}),
        ("/recommend", {"user": "p1", "model": "blend"}),
        ("/next", {"items": "t0,t1"}),
        ("/similar-items", {"item": "t3"}),
    ]
    threads = [threading.Thread(target=load, args=route) for route in routes]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        wrong = service.post("/admin/reload", None, headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401 and wrong.json()["parameter"] == "Authorization"

        second = republish(artifacts, "e2e")
        reloaded = service.post("/admin/reload", None, headers=auth)
        acknowledged = time.monotonic()
        assert reloaded.status_code == 200
        assert reloaded.json() == {"version": second, "previous": first, "changed": True}
        time.sleep(1.0)

        third = republish(artifacts, "e2e")
        damaged = artifacts / "e2e" / third / "vectors" / "als_item_factors.npy"
        data = bytearray(damaged.read_bytes())
        data[-1] ^= 0xFF  # same size, different content: only the checksum can tell
        damaged.write_bytes(bytes(data))
        refused = service.post("/admin/reload", None, headers=auth)
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert refused.status_code == 409
    assert "als_item_factors.npy does not match its checksum" in refused.json()["error"]
    assert f"still serving {second}" in refused.json()["error"]
    assert refused.json()["error"].startswith(
        f"bundle {third} refused: BundleError: e2e/{third}: vectors/als_item_factors.npy"
    )
    assert str(artifacts) not in refused.json()["error"]  # public answers name files inside the root only
    assert service.get("/readyz").json()["version"] == second
    assert f"refused bundle {third}" in service.log()

    assert len(answers) > 100
    assert Counter(status for _, status, _ in answers) == {200: len(answers)}
    assert {version for _, _, version in answers} == {first, second}
    assert {version for started, _, version in answers if started > acknowledged} == {second}

    counted = metric_values(service)
    assert counted[("recsys_bundle_reloads_total", (("result", "loaded"),))] == 2  # the first load and second
    assert counted[("recsys_bundle_reloads_total", (("result", "refused"),))] == 1


def test_a_file_that_breaks_the_load_is_refused_for_its_checksum(artifacts):
    """The checksums are computed beside the load, so a damaged file can break a read before its hash is done:
    the refusal still names the file and its checksum, not the reader's error."""
    version = republish(artifacts, "e2e")
    damaged = artifacts / "e2e" / version / "vectors" / "als_item_factors.npy"
    data = bytearray(damaged.read_bytes())
    data[:6] = b"NOTNPY"  # the same size, no longer an .npy header: numpy's own error would be a ValueError
    damaged.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="als_item_factors.npy does not match its checksum"):
        LoadedBundle.load(artifacts / "e2e" / version)


def test_metrics_count_requests_per_route_and_status_and_describe_the_bundle(built, serve):
    folder, _ = built
    service = serve(folder / "artifacts", "e2e")
    for _ in range(3):
        assert service.get("/recommend", user="p0").status_code == 200
    for _ in range(2):
        assert service.get("/recommend", user="nobody").status_code == 404
    assert service.get("/no/such/route").status_code == 404
    assert service.get("/openapi.json").status_code == 200
    too_big = httpx.post(f"{service.base}/recommend/batch", content=b"x" * 2_000_000, timeout=30)
    assert too_big.status_code == 413

    counted = metric_values(service)
    requests = "recsys_http_requests_total"
    assert counted[(requests, (("method", "GET"), ("route", "/recommend"), ("status", "200")))] == 3
    assert counted[(requests, (("method", "GET"), ("route", "/recommend"), ("status", "404")))] == 2
    assert counted[(requests, (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert counted[(requests, (("method", "GET"), ("route", "/openapi.json"), ("status", "200")))] == 1
    assert counted[(requests, (("method", "POST"), ("route", "/recommend/batch"), ("status", "413")))] == 1
    assert counted[("recsys_http_request_duration_seconds_count", (("method", "GET"), ("route", "/recommend")))] == 5
    assert not any(name == requests and "p0" in str(labels) for name, labels in counted)  # ids never become labels

    bundle = resolve(folder / "artifacts", "e2e")
    manifest = load_manifest(bundle)
    assert counted[("recsys_bundle_info", (("name", "e2e"), ("version", bundle.name)))] == 1
    assert counted[("recsys_bundle_rows", (("table", "users"),))] == manifest["counts"]["users"]
    assert counted[("recsys_bundle_rows", (("table", "items"),))] == manifest["counts"]["items"]
    assert counted[("recsys_index_vectors", (("index", "items_als"),))] == manifest["counts"]["items"]
    assert counted[("recsys_index_vectors", (("index", "users_item2vec"),))] == manifest["counts"]["users"]
    assert counted[("recsys_bundle_loaded_timestamp_seconds", (("name", "e2e"),))] > 0
    assert counted[("process_resident_memory_bytes", ())] > 0


def test_a_batch_answers_as_single_requests_do_and_lists_unknown_users(service):
    users = ["p0", "nobody", "p7", "p3"]
    batch = service.post("/recommend/batch", {"users": users, "k": 5, "model": "blend"})
    assert batch.status_code == 200
    body = batch.json()
    assert body["unknown"] == ["nobody"]
    assert [result["user"] for result in body["results"]] == ["p0", "p7", "p3"]
    for result in body["results"]:
        single = service.get("/recommend", user=result["user"], k=5, model="blend").json()
        assert result == single

    with_fallback = service.post("/recommend/batch", {"users": users, "k": 5, "fallback": "popular"}).json()
    assert [result["fallback"] for result in with_fallback["results"]] == [False, True, False, False]
    assert with_fallback["unknown"] == ["nobody"]

    again = service.post("/recommend/batch", {"users": ["p3"], "k": 20, "exclude_seen": False}).json()
    assert again["results"] == [service.get("/recommend", user="p3", k=20, exclude_seen="false").json()]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"users": []}, "users"),
        ({"users": [f"p{i}" for i in range(101)]}, "users"),  # serving.max_batch is 100
        ({"users": ["p0", ""]}, "users[1]"),  # the second user id is empty
        ({"users": ["p0"], "k": 0}, "k"),
        ({"users": ["p0"], "model": "svd"}, "model"),
        ({"users": ["p0"], "exclude_seen": "maybe"}, "exclude_seen"),
        ({}, "users"),
    ],
)
def test_bad_batches_get_422_naming_the_field(service, body, parameter):
    response = service.post("/recommend/batch", body)
    assert response.status_code == 422
    assert response.json()["parameter"] == parameter


def test_admin_reload_does_not_exist_without_a_token(service):
    assert service.post("/admin/reload", None).status_code == 404
    assert "/admin/reload" not in service.get("/openapi.json").json()["paths"]


def test_several_workers_share_the_memory_mapped_indexes(built, serve):
    folder, _ = built
    service = serve(folder / "artifacts", "e2e", args=("--workers", "2"))
    with httpx.Client(base_url=service.base, timeout=10.0) as client:
        assert all(client.get("/recommend", params={"user": f"p{i}"}).status_code == 200 for i in range(40))
    children = [p for p in Path("/proc").glob("[0-9]*") if _parent(p) == service.process.pid]
    index = str(resolve(folder / "artifacts", "e2e") / "indexes" / "items_als.faiss")
    mapping = [child for child in children if _maps_shared(child, index)]
    assert len(mapping) == 2, [(_command(c), _parent(c)) for c in children]


def _parent(process: Path) -> int | None:
    try:
        return int((process / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _maps_shared(process: Path, path: str) -> bool:
    """``path`` is mapped read-only and shared (``r--s``): pages the kernel keeps once for every process."""
    try:
        return any(
            line.split()[1] == "r--s" and line.endswith(path) for line in (process / "maps").read_text().splitlines()
        )
    except OSError:
        return False


def _command(process: Path) -> str:
    try:
        return (process / "cmdline").read_text().replace("\0", " ")[:120]
    except OSError:
        return "?"


def test_every_curl_example_in_the_api_docs_answers_200(service):
    """docs/api.md's examples, run as printed against a served bundle (the admin call needs its own token)."""
    import shlex

    text = (REPO / "docs" / "api.md").read_text().replace("\\\n", " ")
    commands = [shlex.split(line) for line in text.splitlines() if line.startswith("curl ")]
    assert len(commands) >= 10
    for command in commands:
        url = next(word for word in command if word.startswith("http://"))
        if "/admin/" in url or '"name"' in " ".join(command):
            continue  # the admin call needs a token; a playlist name needs a named bundle (test_titles_build.py)
        options = {flag: value for flag, value in zip(command, command[1:], strict=False) if flag in ("-X", "-H", "-d")}
        request = httpx.Request(
            options.get("-X", "GET"),
            url.replace("http://127.0.0.1:8000", service.base),
            content=options.get("-d"),
            headers=dict([options["-H"].split(": ", 1)]) if "-H" in options else None,
        )
        assert httpx.Client().send(request).status_code == 200, " ".join(command)


def test_a_bundle_without_the_default_model_is_refused_saying_so(named):
    """The named bundle holds no EASE (600 tracks over its ease.max_items): with ease as the default, every request
    naming no model would be a 422, so the bundle is not served, and /readyz says why."""
    _, bundle = named
    env = {"RECSYS__SERVING__DEFAULT_MODEL": "ease"}
    service = Service(bundle.parent.parent, bundle.parent.name, env=env)
    try:
        service.wait_for("/healthz")
        deadline = time.monotonic() + 60
        while "refused" not in (ready := service.get("/readyz").json())["error"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "it serves no ease model, the service's default (serving.default_model)" in ready["error"], ready
    finally:
        service.stop()
