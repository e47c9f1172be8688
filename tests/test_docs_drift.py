"""docs/architecture.md says what the code does in two places that drift: the bundle layout, pyspark importers."""

import ast
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "pyspark" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pyspark":
            return True
    return False


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
