"""Ctrl-C during a build, as a terminal sends it (SIGINT to the whole process group), started either way the
README starts a build: one line, exit status 130, nothing published and nothing left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recsys.synth import SynthConfig, generate
from tests.conftest import REPO

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.mark.parametrize("launch", ["python", "spark-submit"])
def test_ctrl_c_while_spark_writes_the_tables_ends_in_one_line_and_leaves_nothing(launch, tmp_path):
    synth = generate(SynthConfig(playlists=4000, tracks=800, clusters=8, seed=1))
    synth.clicks.write_csv(tmp_path / "clicks.csv")
    out = tmp_path / "artifacts"
    job = [str(REPO / "jobs" / "build_embeddings.py"), "--input", str(tmp_path / "clicks.csv"), "--format", "long"]
    job += ["--output", str(out), "--name", "d"]
    if launch == "python":
        command = [sys.executable, *job]
    else:
        log4j = f"-Dlog4j2.configurationFile={REPO / 'conf' / 'log4j2.properties'}"
        command = [str(Path(sys.executable).parent / "spark-submit"), "--driver-java-options", log4j, *job]
    build = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while not (writing := list(out.glob("d/.staging-*/tables/*/_temporary"))) and time.monotonic() < deadline:
        assert build.poll() is None, build.stdout.read()
        time.sleep(0.05)
    assert writing, "the build never reached Spark writing its tables: the Ctrl-C would test something else"
    os.killpg(build.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: every process of the job gets it
    output = build.communicate(timeout=120)[0]
    assert build.returncode == 130, output[-3000:]
    assert output.splitlines()[-1] == "build_embeddings.py: interrupted", output[-3000:]
    assert "Traceback" not in output and "Exception" not in output, output[-3000:]
    time.sleep(2)  # anything a late task could still write would be there by now
    assert not out.exists(), sorted(str(p.relative_to(out)) for p in out.rglob("*"))
