"""The import graph's rules are import-linter's contracts in pyproject.toml, checked by `lint-imports` in make
test's lint step. These tests plant a violation of each kind in a copy of the code and see the contract catch it,
so a contract loosened into one that cannot fail is caught too."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

#: What is planted (file, import line added to it) and what lint-imports must say of it.
PLANTED = {
    "an upward import (a model importing the build)": (
        [("recsys/models/base.py", "import recsys.pipeline")],
        "recsys.models is not allowed to import recsys.pipeline",
    ),
    "a cycle inside one layer (two models importing each other)": (
        [
            ("recsys/models/ease.py", "import recsys.models.user_knn"),
            ("recsys/models/user_knn.py", "import recsys.models.ease"),
        ],
        "No cycles are allowed in recsys.models",
    ),
    "a job importing the service": (
        [("jobs/challenge.py", "import serving.app")],
        "jobs is not allowed to import serving",
    ),
    "the service importing Spark's readers": (
        [("serving/routes/health.py", "import recsys.io")],
        "serving is not allowed to import recsys.io",
    ),
}


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS)], cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})  # fmt: skip


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in ("recsys", "serving", "jobs"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def test_the_contracts_hold_on_the_code_as_it_is(copy):
    result = lint(copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("case", list(PLANTED))
def test_each_kind_of_violation_breaks_a_contract(copy, case):
    plants, complaint = PLANTED[case]
    for path, line in plants:
        with (copy / path).open("a") as source:
            source.write(f"\n{line}  # planted\n")
    try:
        result = lint(copy)
    finally:
        for path, _ in plants:
            shutil.copy(REPO / path, copy / path)
    assert result.returncode != 0 and complaint in result.stdout, result.stdout[-3000:]
