"""The Makefile does what `make help` and the README promise (dry runs: nothing here builds or deletes)."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-C", str(REPO), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def test_bench_builds_its_bundle_when_it_is_missing(tmp_path):
    planned = make("-n", "bench", f"BENCH_DATA={tmp_path}/bench").stdout
    assert "jobs/build_embeddings.py" in planned and f"{tmp_path}/bench/artifacts" in planned


def test_clean_leaves_the_bundles_users_published():
    planned = make("-n", "clean").stdout
    removed = next(line for line in planned.splitlines() if line.startswith("rm -rf")).split()[2:]
    assert "artifacts" not in removed and "artifacts/demo" in removed
    assert "clean" in make("help").stdout


def test_an_old_java_is_named_before_anything_is_installed(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "java").write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    (fake / "java").chmod(0o755)
    venv = tmp_path / "venv"
    result = make("install", f"VENV={venv}", env={"PATH": f"{fake}:{os.environ['PATH']}"})
    assert result.returncode != 0
    assert "Java 17+ is required (Spark 4 runs on it); found: 11.0.22" in result.stdout + result.stderr
    assert not venv.exists()


def test_install_shows_progress_while_pip_works(tmp_path):
    """A fresh `make install` took 2+ minutes in silence: pip ran with --quiet."""
    planned = make("-n", "install", f"VENV={tmp_path}/venv").stdout
    main = next(line for line in planned.splitlines() if "-e '.[test]'" in line)
    assert "--quiet" not in main and "Installing the pinned packages" in planned
