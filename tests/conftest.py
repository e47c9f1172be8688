"""Shared fixtures: a real local SparkSession, paths to the real data, a synthetic log with known answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    from recsys.matrices import read_history
    from recsys.pipeline import Tables, write_tables
    from recsys.settings import Settings
    from recsys.spark import idmap
    from recsys.synth import SynthConfig, generate

    synth = generate(SynthConfig(playlists=600, tracks=120, clusters=4, seed=3))
    df = spark.createDataFrame(synth.clicks.to_dicts()).select(
        F.col("user_id"),
        F.col("item_id"),
        F.lit(1).cast("long").alias(S.COUNT),
        F.col("position").cast("long").alias(S.POSITION),
        F.col("position").cast("long").alias(S.ROW),
    )
    users, items = idmap.user_index(df), idmap.item_index(df)
    indexed = idmap.apply_index(df, users, items)
    folder = tmp_path_factory.mktemp("planted")
    tables = Tables(
        str(folder / "ratings"), str(folder / "sequences"), str(folder / "cooc"), users.count(), items.count()
    )
    write_tables(indexed, Settings(), tables)
    item_ids = {r[S.ITEM_IDX]: r[S.ITEM_ID] for r in items.collect()}
    user_ids = {r[S.USER_IDX]: r[S.USER_ID] for r in users.collect()}
    history = read_history(tables.ratings, tables.sequences, tables.n_users, tables.n_items, 3)
    return tables, history, synth, user_ids, item_ids


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
    """A real uvicorn process serving a bundle on a free loopback port."""

    def __init__(self, artifacts: Path, name: str) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serving", "--artifacts", str(artifacts), "--name", name, "--port", str(self.port)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited early:\n{self.process.stdout.read()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise TimeoutError(f"service on port {self.port} not ready after {timeout} s")

    def get(self, path: str, **params):
        import httpx

        return httpx.get(f"{self.base}{path}", params=params, timeout=10.0)

    def post(self, path: str, body: object):
        import httpx

        return httpx.post(f"{self.base}{path}", json=body, timeout=10.0)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def serve():
    """serve(artifacts, name) starts the service and stops it after the test."""
    started: list[Service] = []

    def start(artifacts: Path, name: str) -> Service:
        service = Service(artifacts, name)
        started.append(service)
        service.wait_ready()
        return service

    yield start
    for service in started:
        service.stop()
