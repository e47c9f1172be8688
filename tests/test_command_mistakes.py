"""A user's mistake on any command line gets one line naming what is wrong and what would be right, and exit 2."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = [sys.executable, str(REPO / "jobs" / "build_embeddings.py"), "--input", "x", "--format", "long", "--output"]

MISTAKES = {
    "mistyped setting": (
        [*BUILD, "out", "--set", "als.factor=3"],
        "build_embeddings.py: error: unknown setting als.factor (did you mean als.factors?)",
    ),
    "unknown section": (
        [*BUILD, "out", "--set", "item2vek.epochs=3"],
        "unknown setting item2vek (did you mean item2vec?)",
    ),
    "value of the wrong type": (
        [*BUILD, "out", "--set", "als.factors=many"],
        "setting als.factors='many': Input should be a valid integer",
    ),
    "malformed --set": ([*BUILD, "out", "--set", "als.factors"], "--set expects section.key=value"),
    "bench/ranker.py with a mistyped ranker setting": (
        [sys.executable, str(REPO / "bench" / "ranker.py"), "--input", "x", "--format", "yes"]
        + ["--set", "ranker.leaf=3"],
        "python bench/ranker.py: error: unknown setting ranker.leaf (did you mean ranker.leaves?)",
    ),
    "bench/split_stage.py against a commit that is not there": (
        [sys.executable, str(REPO / "bench" / "split_stage.py"), "--playlists", "10", "--against", "no-such"],
        "python bench/split_stage.py: error: --against no-such: no such commit here",
    ),
    "items with a format that has none": (
        [sys.executable, str(REPO / "jobs" / "build_embeddings.py"), "--input", "x", "--format", "yes", "--items", "x"]
        + ["--output", "out"],
        "--items is for --format long",
    ),
    "examples of a bundle that is not there": (
        [sys.executable, "-m", "serving", "--artifacts", "/no/such", "--name", "x", "--print-examples"],
        "python -m serving: error: no published bundle: /no/such/x/LATEST does not exist",
    ),
    "cleaning a root that is not there": (
        [sys.executable, "-m", "recsys.artifacts", "clean", "/no/such/root"],
        "python -m recsys.artifacts: error: /no/such/root is not a folder",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_is_one_line_and_exit_2(mistake, tmp_path):
    command, expected = MISTAKES[mistake]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and expected in errors[0], result.stderr


@pytest.mark.no_gpu
def test_a_gpu_asked_for_where_there_is_none_is_said_before_spark_starts(tmp_path):
    """The input does not exist either: that the GPU is named, not the input, shows Spark never started."""
    result = subprocess.run([*BUILD, "out", "--set", "als.use_gpu=true"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "build_embeddings.py: error: als.use_gpu=true but no GPU is usable by als.backend=auto: torch sees no GPU; "
        "leave als.use_gpu at auto to train on the CPU"
    ]


def test_a_job_started_with_python_gets_the_quiet_spark_console(tmp_path):
    """conf/log4j2.properties applies however a job is started, not only through the Makefile's spark-submit."""
    result = subprocess.run([*BUILD, str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 2
    assert "log4j" not in result.stderr and "\tat " not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].endswith("ERROR build_embeddings: input x does not exist")
    assert not (tmp_path / "out").exists()  # the failed build left no empty bundle folders either


def test_a_bundle_name_that_is_not_there_lists_the_names_that_are(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "LATEST").write_text("v1\n")
    result = subprocess.run([sys.executable, "-m", "serving", "--artifacts", str(tmp_path), "--images-name", "photo"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: no published bundle: {tmp_path}/photo/LATEST does not exist (published there: demo)"
    )


def test_a_port_that_is_taken_is_one_line_naming_the_way_out(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "RECSYS__SERVING__WATCH_INTERVAL_S": "1"}  # no bundle needed: it could appear later
        result = subprocess.run(
            [sys.executable, "-m", "serving", "--artifacts", str(tmp_path), "--name", "x", "--port", str(port)],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"python -m serving: error: cannot listen on 127.0.0.1:{port} (Address already in use): pick another port "
        "with --port N (make serve PORT=N)"
    )


def test_a_default_model_the_registry_does_not_know_stops_the_service_at_once(tmp_path):
    env = {**os.environ, "RECSYS__SERVING__DEFAULT_MODEL": "ranked"}
    result = subprocess.run([sys.executable, "-m", "serving", "--artifacts", str(tmp_path), "--name", "x"],
                            capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "python -m serving: error: serving.default_model='ranked' is not a model; auto or one of popularity, "
        "cooccurrence, sequential, item2vec, als, ease, user_knn, blend, ranker"
    )
