"""Ctrl-C during a build, as a terminal sends it (SIGINT to the whole process group), started either way the
README starts a build: one line, exit status 130, nothing published and nothing left behind."""

import logging
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


def test_an_error_met_on_the_connection_a_ctrl_c_broke_is_not_logged_with_its_traceback():
    """What py4j logs when Ctrl-C lands in one of its calls, as the spark-submit run above once printed it: the
    error of its next send (Py4JNetworkError over a BrokenPipeError), raised while the KeyboardInterrupt was being
    handled. The job says it was interrupted in one line; a traceback with no Ctrl-C behind it is still logged."""
    from recsys.cli import _NoInterruptTracebacks

    def logged(exc: BaseException) -> bool:
        record = logging.LogRecord("py4j.clientserver", logging.ERROR, __file__, 1, "Error while sending", (), None)
        record.exc_info = (type(exc), exc, exc.__traceback__)
        return _NoInterruptTracebacks().filter(record)

    try:
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                raise BrokenPipeError(32, "Broken pipe")  # noqa: B904  # as py4j meets it: inside the handling
        except BrokenPipeError:
            raise RuntimeError("Error while sending")  # noqa: B904
    except RuntimeError as exc:
        after_interrupt = exc
    assert not logged(after_interrupt) and not logged(KeyboardInterrupt())
    assert logged(RuntimeError("Error while sending"))
