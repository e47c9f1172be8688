"""The service's import footprint: every worker pays for what it imports, in memory and start-up time."""

import subprocess
import sys

from tests.conftest import REPO


def test_the_service_imports_neither_spark_nor_torch_nor_gensim():
    probe = "import sys, serving.app; print(sorted({'pyspark', 'torch', 'gensim'} & set(sys.modules)))"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert imported.stdout.strip() == "[]"
