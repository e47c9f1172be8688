"""docs/architecture.md says what the code does in two places that drift: the bundle layout, pyspark importers."""

import json
import re
from pathlib import Path

from tests.conftest import REPO, runtime_imports

ARCHITECTURE = (REPO / "docs" / "architecture.md").read_text()


#: Written only where the input names its playlists, which the e2e log does not (tests/test_titles_build.py).
NAMED_INPUTS_ONLY = {"title.npz"}


def _layout_block() -> str:
    start = ARCHITECTURE.index("## Bundle layout\n\n```\n")
    return ARCHITECTURE[start : ARCHITECTURE.index("```\n", start + 25)]


def _bundle_entries(version: Path) -> set[str]:
    """A version folder's own entries and those of its subfolders, as the layout names them."""
    entries = {path.name for path in version.iterdir()}
    for folder in ("vectors", "indexes", "tables", "models"):
        if (version / folder).is_dir():
            entries |= {path.name for path in (version / folder).iterdir()}
    return entries


def test_bundle_layout_names_what_a_build_writes(built):
    folder, _ = built
    root = folder / "artifacts" / "e2e"
    version = root / (root / "LATEST").read_text().strip()
    layout = _layout_block()
    named = set(re.findall(r"[\w.@]+", layout))
    assert sorted(_bundle_entries(version) - named) == [], "docs/architecture.md's bundle layout misses these"
    documented_files = {name for name in named if re.fullmatch(r"\w+\.(npy|npz|faiss|json|md|html|png)", name)}
    unwritten = documented_files - _bundle_entries(version) - NAMED_INPUTS_ONLY
    assert sorted(unwritten) == [], "the layout names files a build does not write"
    manifest = json.loads((version / "manifest.json").read_text())
    assert sorted(set(manifest) - named) == [], "the layout's manifest line misses these keys"


def _imports_pyspark(path: Path) -> bool:
    """Whether the file imports pyspark or py4j when it runs (names for annotations only do not count)."""
    return any(name.split(".")[0] in ("pyspark", "py4j") for name in runtime_imports(path))


def test_the_modules_that_import_pyspark_are_the_documented_ones():
    lead = "`pyspark` is imported only by"
    sentence = ARCHITECTURE[ARCHITECTURE.index(lead) + len(lead) :]
    documented = re.findall(r"`([\w/.]+)`", sentence[: sentence.index(";")])
    importers = sorted(
        str(path.relative_to(REPO))
        for package in ("recsys", "serving", "jobs")
        for path in (REPO / package).rglob("*.py")
        if _imports_pyspark(path)
    )
    undocumented = [path for path in importers if not any(path.startswith(entry) for entry in documented)]
    assert undocumented == [], "import pyspark here, or name them in docs/architecture.md"
    stale = [entry for entry in documented if not any(path.startswith(entry) for path in importers)]
    assert stale == [], "docs/architecture.md names these, which no longer import pyspark"


#: Commands the docs may show bare: a fresh venv made with the system's Python, and the cluster recipes of
#: docs/scaling.md, which run on a cluster's own spark-submit with the environment they ship.
BARE_ALLOWED = ("python -m venv ", "python3 -m venv ")
CLUSTER_DOC = "docs/scaling.md"


def test_the_docs_commands_name_the_project_environment():
    """A command in a README or docs/ code block runs as printed in a shell that activated nothing: python,
    uvicorn, pip and spark-submit are the venv's (``.venv/bin/...``), never whichever one is first on PATH."""
    bare = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        name = str(doc.relative_to(REPO))
        for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", doc.read_text(), re.S):
            for line in re.sub(r"\\\n\s*", "", block).splitlines():
                command = re.sub(r"^(\w+=\S*\s+)*", "", line.strip())  # VAR=value prefixes
                first = command.split(" ", 1)[0]
                if first not in ("python", "python3", "uvicorn", "pip", "spark-submit") or command.startswith(
                    BARE_ALLOWED
                ):
                    continue
                if not (name == CLUSTER_DOC and first == "spark-submit"):
                    bare.append(f"{name}: {command[:80]}")
    assert bare == [], "write .venv/bin/... (README's one way), or say why in BARE_ALLOWED"


def _sections(markdown: str) -> dict[str, str]:
    """Each '## ' section's body by its GitHub anchor (a repeated heading's anchor gets -1, -2, ...)."""
    sections: dict[str, str] = {}
    for chunk in markdown.split("\n## ")[1:]:
        heading, _, body = chunk.partition("\n")
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        repeats = sum(1 for anchor in sections if re.fullmatch(rf"{re.escape(slug)}(-\d+)?", anchor))
        sections[slug if not repeats else f"{slug}-{repeats}"] = body
    return sections


def test_benchmarks_opens_with_current_figures_each_found_in_its_section():
    """docs/BENCHMARKS.md's first table names each measure's latest figure and links the section it comes from;
    every number of a figure must be in that section, so the summary cannot drift from the runs."""
    text = (REPO / "docs" / "BENCHMARKS.md").read_text()
    sections = _sections(text)
    current = sections["current-figures"]
    rows = [line for line in current.splitlines() if line.startswith("| ") and "](#" in line]
    assert len(rows) >= 8
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        anchor = re.search(r"\]\(#([\w-]+)\)", cells[-1]).group(1)
        assert anchor in sections, f"{cells[0]}: no section #{anchor}"
        for number in re.findall(r"\d[\d,]*(?:\.\d+)?", cells[1]):
            alone = rf"(?<![\d.,]){re.escape(number)}(?![\d]|[.,]\d)"  # 84 does not match inside 0.84 or 1,384
            assert re.search(alone, sections[anchor]), f"{cells[0]}: {number} is not in #{anchor}"
