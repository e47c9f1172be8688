"""Shared fixtures: a real local SparkSession, paths to the real data, a synthetic log with known answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys.synth import SynthConfig

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RECSYS_SHARED_DATA", REPO.parent / "shared" / "data"))

# spark-submit and Spark's Python workers must use this interpreter (the project's venv).
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def shared_dataset(name: str) -> Path:
    """A folder of ../shared/data, or skip: a fresh clone has no shared data (CI does)."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {path} not present")
    return path


@pytest.fixture(scope="session")
def spark():
    from recsys.settings import SparkSettings
    from recsys.spark.session import spark_session

    session = spark_session(SparkSettings(master="local[2]", shuffle_partitions=2, app_name="recsys-tests"))
    yield session
    session.stop()


def pytest_collection_modifyitems(config, items):
    """gpu tests run only where implicit's CUDA build or torch sees a GPU; no-gpu tests only where neither does."""
    if has_gpu():
        skip, marker = pytest.mark.skip(reason="a GPU is present"), "no_gpu"
    else:
        skip, marker = pytest.mark.skip(reason="no GPU: implicit has no CUDA and torch sees none"), "gpu"
    for item in items:
        if marker in item.keywords:
            item.add_marker(skip)


def has_gpu() -> bool:
    import implicit.gpu
    import torch

    return implicit.gpu.HAS_CUDA or torch.cuda.is_available()


@pytest.fixture(scope="session")
def planted(spark, tmp_path_factory):
    """A small synthetic log run through the real Spark transforms: (tables, history, synth log, id maps)."""
    from pyspark.sql import functions as F

    from recsys import schemas as S
    from recsys.layout import Tables
    from recsys.matrices import read_history
    from recsys.settings import Settings
    from recsys.spark import idmap
    from recsys.spark.ingest import write_tables
    from recsys.synth import SynthConfig, generate

    synth = generate(SynthConfig(playlists=600, tracks=120, clusters=4, seed=3))
    df = spark.createDataFrame(synth.clicks.to_dicts()).select(
        F.col("user_id"),
        F.col("item_id"),
        F.lit(1).cast("long").alias(S.COUNT),
        F.col("position").cast("long").alias(S.POSITION),
        F.col("position").cast("long").alias(S.ROW),
        F.lit(None).cast("long").alias(S.TIMESTAMP),
    )
    users, items = idmap.user_index(df), idmap.item_index(df)
    indexed = idmap.apply_index(df, users, items)
    folder = tmp_path_factory.mktemp("planted")
    tables = Tables.of(folder, users.count(), items.count())
    write_tables(indexed, Settings(), tables)
    item_ids = {r[S.ITEM_IDX]: r[S.ITEM_ID] for r in items.collect()}
    user_ids = {r[S.USER_IDX]: r[S.USER_ID] for r in users.collect()}
    history = read_history(tables.ratings, tables.sequences, tables.n_users, tables.n_items, 3)
    return tables, history, synth, user_ids, item_ids


def planted_next_songs(planted) -> np.ndarray:
    """Each planted playlist's next song (the planted successor of its last track) as an item index, or -1 where
    the playlist already holds it."""
    _, history, synth, _, item_ids = planted
    index_of = {item: i for i, item in item_ids.items()}
    last = history.recent[:, -1]
    successor = np.array([index_of.get(f"t{synth.successor[int(item_ids[i][1:])]}", -1) for i in last])
    held = np.array([history.user_items[u, s] > 0 if s >= 0 else True for u, s in enumerate(successor)])
    return np.where(held, -1, successor)


def planted_ranker(models, planted, settings):
    """The trees over ``models`` (train_all's, on the planted log), taught the next songs of the first 300
    playlists, which no member saw as those playlists' next items: (the ranker, what training measured)."""
    from recsys.models.base import Inputs
    from recsys.models.ranker import Features, train_ranker

    tables, history, *_ = planted
    next_song = planted_next_songs(planted)
    users = np.arange(300)
    users = users[next_song[users] >= 0]
    features = Features.of(Inputs(tables, history, models=models), settings.ranker.candidates)
    return train_ranker(features, history, users, next_song[users], settings.ranker)


def run_build_job(*args: str, master: str = "local[2]", timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """spark-submit jobs/build_embeddings.py as a user runs it (local[2]: two cores, as in CI)."""
    return run_job("build_embeddings.py", *args, master=master, timeout=timeout)


def run_job(script: str, *args: str, master: str = "local[2]", timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """spark-submit jobs/SCRIPT as a user runs it."""
    command = [
        str(Path(sys.executable).parent / "spark-submit"),
        "--master",
        master,
        "--driver-java-options",
        f"-Dlog4j2.configurationFile={REPO / 'conf' / 'log4j2.properties'}",
        str(REPO / "jobs" / script),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)


class Service:
    """A real uvicorn process serving a bundle on a free loopback port; its log goes to ``log_path``. ``user``: run
    it as that user (the tests' own user must be root to switch)."""

    def __init__(
        self,
        artifacts: Path,
        name: str | None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        user: str | None = None,
    ):
        import socket
        import tempfile

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="service-", suffix=".log")[1])
        command = [sys.executable, "-m", "serving", "--artifacts", str(artifacts)]
        command += [] if name is None else ["--name", name]  # None: python -m serving's own choice
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), *args],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                user=user,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, path: str, timeout: float = 60.0) -> None:
        """Until ``path`` answers 200: /healthz (the process is up) or /readyz (a bundle is loaded)."""
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base}{path}", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.base}{path} not answering 200 after {timeout} s:\n{self.log()[-3000:]}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        self.wait_for("/readyz", timeout)

    def get(self, path: str, **params):
        import httpx

        return httpx.get(f"{self.base}{path}", params=params, timeout=10.0)

    def post(self, path: str, body: object, headers: dict[str, str] | None = None):
        import httpx

        return httpx.post(f"{self.base}{path}", json=body, headers=headers, timeout=30.0)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log_path.unlink(missing_ok=True)


def metric_values(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by (name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = service.get("/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def build_e2e(folder: Path, output: Path, *args: str, master: str = "local[2]") -> subprocess.CompletedProcess[str]:
    """The e2e bundle's job: ``folder``'s clicks.csv and tracks.csv into ``output``/e2e, item2vec at 10 epochs."""
    inputs = ("--input", str(folder / "clicks.csv"), "--items", str(folder / "tracks.csv"), "--format", "long")
    return run_build_job(
        *inputs, "--output", str(output), "--name", "e2e", "--set", "item2vec.epochs=10", *args, master=master
    )


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """A bundle built by spark-submit from a synthetic log with planted clusters: (folder, synth log).

    Shared by the end-to-end, service and cluster-mode tests; a test that changes bundles copies the artifacts
    first.
    """
    from recsys.synth import SynthConfig, generate

    folder = tmp_path_factory.mktemp("e2e")
    synth = generate(SynthConfig(playlists=1500, tracks=300, clusters=6, seed=11))
    synth.clicks.write_csv(folder / "clicks.csv")
    synth.tracks.write_csv(folder / "tracks.csv")
    job = build_e2e(folder, folder / "artifacts", "--set", "ranker.enabled=true")  # every model=, the ranker too
    assert job.returncode == 0, job.stderr[-3000:]
    return folder, synth


#: flowers5's classes, one folder each.
CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")


@pytest.fixture(scope="session")
def photos(built, tmp_path_factory):
    """flowers5's 250 photos, one identical copy, broken files and odd modes; indexed into the e2e root. Shared by
    the image job's tests and the page's."""
    import shutil

    from PIL import Image

    from recsys.artifacts import resolve
    from tests.images.test_decode_and_weights import png_claiming

    folder = tmp_path_factory.mktemp("photos")
    flowers = shared_dataset("flowers5")
    for label in CLASSES:
        shutil.copytree(flowers / label, folder / label)
    first_daisy = sorted((folder / "daisy").iterdir())[0]
    shutil.copy(first_daisy, folder / "daisy" / "copy.jpg")
    broken = folder / "broken"
    broken.mkdir()
    (broken / "empty.jpg").write_bytes(b"")
    (broken / "notes.txt").write_text("not an image\n")
    (broken / "bomb.png").write_bytes(png_claiming(60_000, 60_000))
    (broken / "truncated.jpg").write_bytes(first_daisy.read_bytes()[:2000])
    Image.open(first_daisy).convert("CMYK").save(folder / "cmyk.jpg")  # no folder: indexed without a label
    artifacts = built[0] / "artifacts"
    job = run_job("index_images.py", "--images", str(folder), "--output", str(artifacts), "--name", "photos",
                  "--labels", "folders")  # fmt: skip
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    return artifacts, resolve(artifacts, "photos")


#: The named playlists of the ``named`` bundle: MPD-shaped slices whose names come from their cluster.
NAMED_CONFIG = SynthConfig(playlists=1500, tracks=600, clusters=6, mean_length=20, seed=3)


@pytest.fixture(scope="session")
def named(spark, tmp_path_factory):
    """A bundle built from MPD-shaped slices whose playlists have names: (slices folder, bundle folder). Shared by
    the title tests and the challenge job's."""
    from recsys.io import InputSpec
    from recsys.pipeline import BuildRequest, build_bundle
    from recsys.settings import load_settings
    from recsys.synth.mpd import write_slices

    folder = tmp_path_factory.mktemp("named")
    write_slices(NAMED_CONFIG, folder / "slices")
    # 600 tracks, over ease.max_items here: a bundle without EASE (and without an evaluation), as at MPD scale;
    # its ranker learns from a split of the whole log
    settings = load_settings(
        ["item2vec.epochs=2", "als.iterations=3", "evaluation.enabled=false", "ease.max_items=500"]
        + ["ranker.enabled=true", "ranker.min_data_in_leaf=20"]
    )
    request = BuildRequest(InputSpec(str(folder / "slices"), "mpd"), str(folder / "out"), "named")
    return folder, build_bundle(spark, request, settings)


@pytest.fixture(scope="session")
def service(built):
    """One service on the built bundle, for tests that only read from it."""
    folder, _ = built
    running = Service(folder / "artifacts", "e2e")
    running.wait_ready()
    yield running
    running.stop()


@pytest.fixture
def serve():
    """serve(artifacts, name, env, args) starts the service, waits until it is ready, stops it after the test."""
    started: list[Service] = []

    def start(artifacts: Path, name: str, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Service:
        service = Service(artifacts, name, env, args)
        started.append(service)
        service.wait_ready()
        return service

    yield start
    for service in started:
        service.stop()


def republish(root: Path, name: str, replaced: dict[str, Path] | None = None) -> str:
    """Publish the live bundle's files again as a new version, through the same writer the job uses; ``replaced``
    maps a file of the bundle to the file published in its place."""
    import shutil

    from recsys.artifacts import BundleWriter, load_manifest, resolve

    source = resolve(root, name)
    manifest = load_manifest(source)
    replaced = replaced or {}
    with BundleWriter(root, name) as writer:
        for path in source.rglob("*"):
            if path.is_file() and path.name != "manifest.json":
                relative = path.relative_to(source).as_posix()
                shutil.copyfile(replaced.get(relative, path), writer.path(relative))
        kept = {k: v for k, v in manifest.items() if k not in {"format", "name", "version", "created", "files"}}
        writer.publish(kept)
    return writer.version


def runtime_imports(path: Path) -> list[str]:
    """Every module a source file's import statements name, at any depth, except under ``if TYPE_CHECKING:``
    (names for annotations only): what importing or running it loads."""
    import ast

    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return names
