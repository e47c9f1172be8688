"""README's "Your own data" commands run as printed, from the project folder, in a shell that activated nothing."""

import re
import shlex
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from recsys.synth import SynthConfig, generate

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.serve]

REPO = Path(__file__).resolve().parent.parent
#: What a fresh login shell has: no venv on PATH, no PYSPARK_PYTHON, no SPARK_HOME.
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def own_data_commands() -> list[str]:
    """The command lines of README's "Your own data" block, continuation lines joined."""
    section = (REPO / "README.md").read_text().split("## Your own data", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in re.sub(r"\\\n\s*", "", block).splitlines() if line.startswith(".venv/")]


def test_the_own_data_build_and_serve_commands_run_in_a_clean_shell(tmp_path):
    commands = own_data_commands()
    build = next(c for c in commands if "--input clicks.csv --format long" in c)
    serve = next(c for c in commands if "-m serving" in c)
    for shared in (".venv", "jobs"):  # the project folder, with the user's files beside the code
        (tmp_path / shared).symlink_to(REPO / shared)
    synth = generate(SynthConfig(playlists=600, tracks=200, clusters=4, seed=3))
    synth.clicks.write_csv(tmp_path / "clicks.csv")
    synth.tracks.write_csv(tmp_path / "tracks.csv")

    env = {**CLEAN_ENV, "HOME": str(tmp_path)}
    built = subprocess.run(shlex.split(build), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "artifacts" / "mylog" / "LATEST").is_file()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = shlex.split(serve.replace("--port 8000", f"--port {port}"))
    server = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        answer = httpx.get(f"http://127.0.0.1:{port}/recommend", params={"user": "p0", "k": 3}, timeout=10)
        assert answer.status_code == 200 and len(answer.json()["items"]) == 3
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_readme_try_outs_write_under_ignored_folders_only():
    """The challenge try-out and recommend-for-all wrote mpd/, challenge_set*.json, submission.csv.gz and recs/ into
    the checkout's root: every path they write is under data/ or artifacts/, both git-ignored."""
    text = (REPO / "README.md").read_text()
    blocks = [text.split("## Recommendations for every user", 1)[1], text.split("To try it without", 1)[1]]
    commands = [
        line
        for block in blocks
        for line in re.sub(r"\\\n\s*", "", block.split("```bash", 1)[1].split("```", 1)[0]).splitlines()
        if line.startswith(".venv/")
    ]
    written = [
        words[i + 1]
        for words in map(shlex.split, commands)
        for i, word in enumerate(words[:-1])
        if word in ("--out", "--output", "--challenge")
    ]
    assert len(written) == 5 and all(path.startswith(("data/", "artifacts")) for path in written), written
    ignored = (REPO / ".gitignore").read_text().split()
    assert "/data/" in ignored and "/artifacts/" in ignored
