"""The import graph's rules, read from the source: no module importing upwards, no cycles (who may import Spark:
tests/test_docs_drift.py, against the rule docs/architecture.md states)."""

from pathlib import Path

from tests.conftest import REPO, runtime_imports


def _sources() -> dict[str, list[str]]:
    """Each Python file of the package, the service and the jobs, by path, with what it imports at run time."""
    paths = [p for folder in ("recsys", "serving", "jobs") for p in (REPO / folder).rglob("*.py")]
    return {p.relative_to(REPO).as_posix(): runtime_imports(p) for p in paths}


def test_nothing_imports_the_build_or_the_service_from_below():
    """recsys/pipeline.py (the build) is imported by its job alone; nothing in recsys imports the service, whose
    bundle loader jobs/challenge.py reuses."""
    for path, imports in _sources().items():
        if path != "jobs/build_embeddings.py":
            assert "recsys.pipeline" not in imports, path
        if path.startswith("recsys/"):
            assert not any(name.split(".")[0] == "serving" for name in imports), path


def test_the_synthetic_log_and_its_spark_writer_form_no_cycle():
    sources = _sources()
    assert not any(name.startswith("recsys.spark") for name in sources["recsys/synth/__init__.py"])
    assert "recsys.synth" in sources["recsys/spark/synth.py"]


def test_the_rules_see_what_they_guard():
    """The checks above would pass on an empty tree: make sure they read the real one."""
    sources = _sources()
    assert "pyspark.sql" in sources["recsys/spark/ingest.py"] and len(sources) > 60
    assert "recsys.pipeline" in sources["jobs/build_embeddings.py"]
    assert Path(REPO / "recsys" / "pipeline.py").is_file()
