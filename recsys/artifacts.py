"""Versioned artifact bundles: ``ROOT/NAME/VERSION/`` plus ``ROOT/NAME/LATEST`` naming the live version.

A job writes every file into ``ROOT/NAME/.staging-VERSION/``, checksums them into manifest.json, renames the
folder to ``VERSION`` and only then replaces LATEST (a write to a temporary file and an atomic rename). A job that
fails at any point leaves LATEST on the previous complete bundle and removes its staging folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LATEST = "LATEST"
STAGING_PREFIX = ".staging-"
FORMAT_VERSION = 1


class BundleError(RuntimeError):
    """A bundle is missing, incomplete or does not match its manifest."""


def new_version() -> str:
    """Sortable UTC timestamp plus a random suffix, so two jobs in the same second never collide."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_entries(folder: Path) -> dict[str, dict[str, Any]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {p.relative_to(folder).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files}


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextmanager
def staged_folder(output: Path) -> Iterator[Path]:
    """A folder written beside ``output`` and renamed into its place only when the block succeeds (replacing
    what was there); on any failure it is removed and ``output`` is left as it was."""
    staging = output.with_name(f".{output.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class BundleWriter:
    """Context manager that stages a bundle and publishes it atomically, or removes it on any failure."""

    def __init__(self, root: str | Path, name: str, version: str | None = None) -> None:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bundle name must be a plain folder name, got {name!r}")
        self.home = Path(root) / name
        self.version = version or new_version()
        self.staging = self.home / f"{STAGING_PREFIX}{self.version}"
        self.published: Path | None = None

    def __enter__(self) -> BundleWriter:
        self.staging.mkdir(parents=True, exist_ok=False)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.published is None and self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)
            log.warning("bundle %s not published; staging folder removed", self.version)

    def path(self, relative: str) -> Path:
        """Where to write ``relative`` inside the staged bundle (parent folders created)."""
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def publish(self, manifest: dict[str, Any]) -> Path:
        """Checksum every staged file, write the manifest, move the folder into place, then flip LATEST."""
        body = {
            "format": FORMAT_VERSION,
            "name": self.home.name,
            "version": self.version,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            **manifest,
            "files": _file_entries(self.staging),
        }
        _atomic_write_text(self.staging / MANIFEST, json.dumps(body, indent=2, sort_keys=True, default=str))
        final = self.home / self.version
        os.replace(self.staging, final)
        _atomic_write_text(self.home / LATEST, self.version + "\n")
        self.published = final
        log.info("published bundle %s", final)
        return final


def resolve(root: str | Path, name: str, version: str | None = None) -> Path:
    """The folder of ``version``, or of the version LATEST names."""
    home = Path(root) / name
    if version is None:
        latest = home / LATEST
        if not latest.is_file():
            raise BundleError(f"no published bundle: {latest} does not exist (run jobs/build_embeddings.py first)")
        version = latest.read_text().strip()
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise BundleError(f"{home}: {version!r} is not a bundle version (a plain folder name)")
    folder = home / version
    if not (folder / MANIFEST).is_file():
        raise BundleError(f"{folder} is not a complete bundle (no {MANIFEST})")
    return folder


def load_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text())


def verify(folder: Path) -> dict[str, Any]:
    """The manifest, after checking every listed file exists with its recorded size and sha256."""
    manifest = load_manifest(folder)
    for relative, entry in manifest["files"].items():
        path = folder / relative
        if not path.is_file():
            raise BundleError(f"{folder}: {relative} is listed in the manifest but missing")
        if path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
            raise BundleError(f"{folder}: {relative} does not match its checksum in the manifest")
    return manifest
