"""Versioned artifact bundles: ``ROOT/NAME/VERSION/`` plus ``ROOT/NAME/LATEST`` naming the live version.

A job writes every file into ``ROOT/NAME/.staging-VERSION/``, checksums them into manifest.json, renames the
folder to ``VERSION`` and only then replaces LATEST (a write to a temporary file and an atomic rename). A job that
fails at any point leaves LATEST on the previous complete bundle and removes its staging folder. A job that is
killed cannot remove it: its staging folder names its owner (host and pid), the next job of the same name on the
same host removes the folders of owners that are gone, and ``python -m recsys.artifacts clean ROOT`` removes
every partial folder whose owner is gone (or, from another host, older than ``--min-age-hours``).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LATEST = "LATEST"
STAGING_PREFIX = ".staging-"
OWNER = ".owner"  # inside a staging folder: {"host", "pid"} of the job writing it; removed before publishing
FORMAT_VERSION = 1


def described(
    config: dict[str, Any], source: dict[str, Any], fingerprint: str, counts: dict[str, int], **parts: Any
) -> dict[str, Any]:
    """What every bundle's manifest says of how it was made, whatever its kind: the settings it was built with,
    its input with that input's fingerprint, its counts, then what its kind adds (``parts``: indexes, reports)."""
    return {"config": config, "input": {**source, "fingerprint": fingerprint}, "counts": counts, **parts}


class BundleError(ValueError):
    """A bundle is missing, incomplete or does not match its manifest: a ValueError, so a command reports it as
    what its user can fix (the wrong root or name, a bundle to rebuild), in one line (recsys/commands.py)."""


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
        if self.home.is_dir():
            remove_partial(self.home, min_age_s=None)  # what killed jobs of this name on this host left
        # the folders this build creates, innermost first: a build that publishes nothing removes them again
        self.created = [folder for folder in (self.home, self.home.parent) if not folder.exists()]
        self.staging.mkdir(parents=True, exist_ok=False)
        owner = {"host": socket.gethostname(), "pid": os.getpid()}
        (self.staging / OWNER).write_text(json.dumps(owner))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.published is None:
            if self.staging.exists():
                log.warning("bundle %s not published; staging folder removed", self.version)
            self._remove()
            _ABANDONED.append(self._remove)

    def _remove(self) -> None:
        """Remove the staging folder and the folders this build created (where nothing else is in them)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        for folder in self.created:
            with suppress(OSError):  # not empty: another build of this name or root wrote there meanwhile
                folder.rmdir()

    def path(self, relative: str) -> Path:
        """Where to write ``relative`` inside the staged bundle (parent folders created)."""
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def publish(self, manifest: dict[str, Any]) -> Path:
        """Checksum every staged file, write the manifest, move the folder into place, then flip LATEST."""
        (self.staging / OWNER).unlink()
        body = {
            "format": FORMAT_VERSION,
            "name": self.home.name,
            "version": self.version,
            "created": datetime.now(UTC).isoformat(timespec="microseconds"),
            **manifest,
            "files": _file_entries(self.staging),
        }
        _atomic_write_text(self.staging / MANIFEST, json.dumps(body, indent=2, sort_keys=True, default=str))
        final = self.home / self.version
        os.replace(self.staging, final)
        self.published = final
        with _publishing(self.home):  # two builds of one name finishing together check and flip one at a time
            live = (self.home / LATEST).read_text().strip() if (self.home / LATEST).is_file() else ""
            if started(live) > started(self.version):
                log.warning(
                    "bundle %s is published but not live: LATEST names %s, from a build that started later (and so "
                    "read newer input); write this version into LATEST to serve it anyway",
                    final,
                    live,
                )
                return final
            _atomic_write_text(self.home / LATEST, self.version + "\n")
        log.info("published bundle %s", final)
        return final


#: How to remove again what each failed build of this process removed: a Spark task still running when the build
#: failed (a cancelled task is not yet a stopped one) can write into its staging folder after the removal.
_ABANDONED: list[Callable[[], None]] = []


def sweep_abandoned() -> None:
    """Remove again what failed builds of this process left; to be called once Spark has stopped."""
    while _ABANDONED:
        _ABANDONED.pop()()


def started(version: str) -> str:
    """When the build of ``version`` started, as its name says (UTC, to the second, sortable as text)."""
    return version.split("-", 1)[0]


@contextmanager
def _publishing(home: Path) -> Iterator[None]:
    """An exclusive lock on the ``home`` folder itself for the check-then-flip of LATEST (flock on the folder's
    descriptor: between processes of this host, and no lock file left among the versions)."""
    descriptor = os.open(home, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def resolve(root: str | Path, name: str, version: str | None = None) -> Path:
    """The folder of ``version``, or of the version LATEST names."""
    home = Path(root) / name
    if version is None:
        latest = home / LATEST
        if not latest.is_file():
            raise BundleError(f"no published bundle: {latest} does not exist ({published_names(Path(root))})")
        version = latest.read_text().strip()
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise BundleError(f"{home}: {version!r} is not a bundle version (a plain folder name)")
    folder = home / version
    if not (folder / MANIFEST).is_file():
        raise BundleError(f"{folder} is not a complete bundle (no {MANIFEST})")
    return folder


def published_names(root: Path) -> str:
    """What a user who named a missing bundle can pick from: the names published under ``root``, or how to make one
    (without the root's path, which the service keeps from its clients)."""
    names = sorted(p.name for p in root.iterdir() if (p / LATEST).is_file()) if root.is_dir() else []
    if names:
        return f"published there: {', '.join(names)}"
    return "nothing is published there: jobs/build_embeddings.py builds a playlist bundle, jobs/index_images.py images"


def load_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text())


def verify(folder: Path, checksums: bool = True) -> dict[str, Any]:
    """The manifest, after checking every listed file exists with its recorded size and sha256; with ``checksums``
    off only the sizes (a stat each: the service's look before it reads the files, whose hashing then runs beside
    its load)."""
    manifest = load_manifest(folder)
    for relative, entry in manifest["files"].items():
        path = folder / relative
        if not path.is_file():
            raise BundleError(f"{folder}: {relative} is listed in the manifest but missing")
        if path.stat().st_size != entry["bytes"] or (checksums and sha256_file(path) != entry["sha256"]):
            raise BundleError(f"{folder}: {relative} does not match its checksum in the manifest")
    return manifest


def _owner_is_gone(staging: Path, min_age_s: float | None) -> bool:
    """True when nothing can still be writing ``staging``: its owner process on this host has exited, or (owner
    unknown or on another host) it is older than ``min_age_s``; None never removes what this host cannot check."""
    try:
        owner = json.loads((staging / OWNER).read_text())
    except (OSError, ValueError):
        owner = None
    if owner and owner.get("host") == socket.gethostname():
        try:
            os.kill(int(owner["pid"]), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, someone else's
        return False
    return min_age_s is not None and time.time() - staging.stat().st_mtime > min_age_s


def remove_partial(home: Path, min_age_s: float | None) -> list[Path]:
    """Remove the staging folders and LATEST temporary files that killed jobs left in one bundle home (see
    _owner_is_gone for which); returns what was removed. Published versions and LATEST are never touched."""
    removed = []
    for staging in sorted(home.glob(f"{STAGING_PREFIX}*")):
        if staging.is_dir() and _owner_is_gone(staging, min_age_s):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    for temporary in home.glob(f".{LATEST}.tmp-*"):  # written and renamed within milliseconds when all goes well
        if time.time() - temporary.stat().st_mtime > 60:
            temporary.unlink(missing_ok=True)
            removed.append(temporary)
    for path in removed:
        log.warning("removed %s, left by a job that did not finish", path)
    return removed


def remove_old_versions(home: Path, keep: int) -> list[Path]:
    """Remove published versions of one bundle home beyond the ``keep`` newest (by the time their manifest was
    written); the version LATEST names is never removed, however old (after a rollback it may be). Returns what
    was removed."""
    if keep < 1:
        raise ValueError(f"--keep {keep}: keep at least 1 version (the live one is kept whatever the number)")
    live = (home / LATEST).read_text().strip() if (home / LATEST).is_file() else None
    published = [p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()]
    versions = sorted(published, key=lambda p: (load_manifest(p).get("created", ""), p.name))  # publication order
    removed = [p for p in versions[: max(0, len(versions) - keep)] if p.name != live]
    for path in removed:
        shutil.rmtree(path)
        log.info("removed version %s (keeping the %d newest and the live one)", path, keep)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recsys.artifacts",
        description="Bundle housekeeping. clean: remove the partial folders killed jobs left under ROOT, and with "
        "--keep N the published versions beyond the N newest (never the one LATEST names).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    clean = commands.add_parser("clean", help="remove partial bundles left by killed jobs, and old versions")
    clean.add_argument("root", type=Path, help="the artifacts root (a job's --output)")
    clean.add_argument("--name", help="only this bundle name (default: every name under ROOT)")
    clean.add_argument(
        "--min-age-hours",
        type=float,
        default=24.0,
        help="a partial folder written from another host (whose job cannot be checked) is removed once older "
        "than this (default: %(default)s)",
    )
    clean.add_argument("--keep", type=int, metavar="N", help="also remove published versions beyond the N newest")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.root.is_dir():
        raise FileNotFoundError(f"{args.root} is not a folder: give the artifacts root a job wrote to (its --output)")
    homes = [args.root / args.name] if args.name else sorted(p for p in args.root.iterdir() if p.is_dir())
    removed = [path for home in homes if home.is_dir() for path in remove_partial(home, args.min_age_hours * 3600)]
    print(f"removed {len(removed)} partial folder(s) or file(s) under {args.root}")
    if args.keep is not None:
        old = [path for home in homes if home.is_dir() for path in remove_old_versions(home, args.keep)]
        print(f"removed {len(old)} old version(s) under {args.root}")
    return 0


if __name__ == "__main__":
    from recsys import commands

    raise SystemExit(commands.run("python -m recsys.artifacts", main))
