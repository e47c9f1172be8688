"""docs/security.md's promises, checked against a running service: ids never reach the file system, CORS is
closed, bodies are capped, routing errors are JSON, and a bundle cannot make the service unpickle."""

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from recsys.artifacts import MANIFEST, resolve, sha256_file
from tests.conftest import Service

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ESCAPES = ("../../../../etc/passwd", "..\\..\\manifest.json", "/etc/passwd", "LATEST", "manifest.json", "%2e%2e%2f")


@pytest.mark.parametrize("route, parameter", [("/recommend", "user"), ("/similar-users", "user"),
                                              ("/similar-items", "item")])  # fmt: skip
def test_ids_are_looked_up_never_opened(service, route, parameter):
    for value in ESCAPES:
        answer = service.get(route, **{parameter: value})
        assert answer.status_code == 404 and answer.json()["parameter"] == parameter, (value, answer.text)
    answer = service.get("/next", items=",".join(ESCAPES))
    assert answer.status_code == 404 and answer.json()["parameter"] == "items"


def test_cors_is_closed_by_default(service):
    origin = {"Origin": "https://elsewhere.example"}
    simple = httpx.get(f"{service.base}/healthz", headers=origin, timeout=10)
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers
    preflight = httpx.options(
        f"{service.base}/recommend/batch",
        headers={**origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 405 and "access-control-allow-origin" not in preflight.headers
    assert preflight.json()["error"] == "Method Not Allowed"  # routing errors come in the service's own format


def test_routing_errors_and_oversized_bodies_are_json(service):
    missing = service.get("/no-such-route")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found", "parameter": None}
    body = json.dumps({"users": ["u"] * 300_000})  # 1.5 MB: over serving.max_body_bytes (1 MiB)
    big = httpx.post(f"{service.base}/recommend/batch", content=body, timeout=30,
                     headers={"content-type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and "1,048,576" in big.json()["error"]


def test_the_api_docs_need_no_other_host(service):
    for page in ("/docs", "/redoc"):
        html = service.get(page)
        assert html.status_code == 200 and "cdn." not in html.text and "https://" not in html.text.split("<body")[0]
        scripts = [part.split('"')[0] for part in html.text.split('src="')[1:]]
        assert scripts and all(src.startswith(("/static-offline-docs/", "/page/")) for src in scripts), scripts
        assert all(service.get(src).status_code == 200 for src in scripts)
    assert service.get("/static-offline-docs/../../app.py").status_code == 404  # no way out of the assets


def test_a_chunked_body_over_the_limit_gets_413_too(service):
    def chunks():
        for _ in range(40):
            yield b"x" * 65_536  # 2.5 MB in all, without a Content-Length

    big = httpx.post(f"{service.base}/recommend/batch", content=chunks(), timeout=30,
                     headers={"content-type": "application/json"})  # fmt: skip
    assert "content-length" not in big.request.headers
    assert big.status_code == 413 and "1,048,576" in big.json()["error"]


BAD_BODIES = {
    "truncated JSON": ('{"items": ["t4", ', "application/json", 400, "not valid JSON: Expecting value at character 17"),
    "not JSON": ("not json", "application/json", 400, "not valid JSON"),
    "a list": ("[]", "application/json", 422, "not a JSON object"),
    "a string": ('"x"', "application/json", 422, "not a JSON object"),
    "empty": ("", "application/json", 422, "the request body is missing"),
    "plain text": ("hello", "text/plain", 422, "the request body is"),
    "form encoding": ("users=p0", "application/x-www-form-urlencoded", 422, "the request body is"),
    "100k deep": ("[" * 100_000 + "]" * 100_000, "application/json", 400, "not valid JSON: nested deeper"),
    "not UTF-8": (b'{"users": ["\xff\xfe"]}', "application/json", 400, "not valid JSON: not UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_body_that_is_not_a_json_object_is_named_as_the_body(service, case):
    content, kind, status, words = BAD_BODIES[case]
    answer = httpx.post(f"{service.base}/recommend/batch", content=content, headers={"content-type": kind}, timeout=10)
    assert answer.status_code == status, answer.text
    assert answer.json()["parameter"] == "body" and words in answer.json()["error"], answer.text


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_number_json_does_not_have_is_a_422_naming_its_field_and_keeps_the_connection(service, number):
    """Python's parser reads these; the 422 that echoed them could not be written (a 500, the connection reset)."""
    with httpx.Client(base_url=service.base, timeout=10) as client:  # one keep-alive connection for all three
        for path, body, field in (
            ("/recommend/batch", f'{{"users": ["p0", {number}]}}', "users[1]"),
            ("/recommend", f'{{"items": ["t1"], "k": {number}}}', "k"),
        ):
            answer = client.post(path, content=body, headers={"content-type": "application/json"})
            assert answer.status_code == 422 and answer.json()["parameter"] == field, answer.text
            assert "finite number" in answer.json()["error"]
        assert client.get("/healthz").status_code == 200
    assert "Traceback" not in service.log()


def test_a_long_unknown_id_is_cut_in_the_error(service):
    answer = service.get("/recommend", user="u" * 6_000)
    assert answer.status_code == 404 and answer.json()["parameter"] == "user"
    assert answer.json()["error"] == f"unknown user {'u' * 80!r}... (6,000 characters)"


def test_a_bundle_carrying_a_pickle_is_refused_not_unpickled(built, tmp_path):
    """An object array in a .npy can only be read by unpickling it; the service refuses the bundle instead, even
    with a manifest whose checksum matches (an attacker who can write the bundle can rewrite the manifest too)."""
    root = shutil.copytree(built[0] / "artifacts", tmp_path / "artifacts")
    folder = resolve(root, "e2e")
    vectors = folder / "vectors" / "als_user_factors.npy"
    np.save(vectors, np.array([{"payload": "would run on unpickling"}], dtype=object), allow_pickle=True)
    manifest = json.loads((folder / MANIFEST).read_text())
    entry = manifest["files"]["vectors/als_user_factors.npy"]
    entry["sha256"], entry["bytes"] = sha256_file(vectors), vectors.stat().st_size
    (folder / MANIFEST).write_text(json.dumps(manifest))
    running = Service(root, "e2e")
    try:
        running.wait_for("/healthz")
        deadline = time.monotonic() + 60
        while "refused bundle" not in running.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert running.get("/readyz").status_code == 503
        assert "allow_pickle=False" in running.log() and "refused bundle" in running.log()
    finally:
        running.stop()


def reachable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can run ``path``: every folder above it searchable by others."""
    real = path.resolve()
    return all(parent.stat().st_mode & 0o001 for parent in real.parents) and bool(real.stat().st_mode & 0o001)


def test_the_service_needs_no_root(built):
    """Read access to the artifact root and a port above 1024 are all it needs: started as nobody (when the tests
    run as root; as whoever runs them otherwise), it loads and verifies the bundle and answers."""
    folder, synth = built
    if os.geteuid() == 0 and not reachable_by_others(Path(sys.executable)):
        pytest.skip(f"{Path(sys.executable).resolve()} is in a folder other users cannot enter (pyenv under /root)")
    root = Path(tempfile.mkdtemp())  # outside pytest's 0700 folders, so another user can read it
    try:
        root.chmod(0o755)
        shutil.copytree(folder / "artifacts", root / "artifacts")
        running = Service(root / "artifacts", "e2e", user="nobody" if os.geteuid() == 0 else None)
        try:
            running.wait_ready()
            status = Path(f"/proc/{running.process.pid}/status").read_text()
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            assert "0" not in uids, status
            answer = running.get("/recommend", user=synth.clicks["user_id"][0], k=3)
            assert answer.status_code == 200 and len(answer.json()["items"]) == 3
        finally:
            running.stop()
    finally:
        shutil.rmtree(root)
