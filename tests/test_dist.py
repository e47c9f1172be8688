"""make dist builds what spark-submit --py-files ships: the recsys and serving packages, importable from the zip."""

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_dist_zip_is_importable_on_its_own(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("recsys-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "recsys/pipeline.py" in names and "recsys/spark/idmap.py" in names and "serving/app.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    page = {"serving/page/index.html", "serving/page/docs.html", "serving/page/redoc.html"}
    assert page | {"serving/page/static/page.js", "serving/page/static/docs.js"} <= set(names)  # GET /, /docs
    probe = "import recsys.spark.idmap as m; print(m.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(wheel)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().startswith(str(wheel))  # imported from the archive, as an executor would
