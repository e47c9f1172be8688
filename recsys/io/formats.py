"""Which --format a set of input files looks like, by the files each format is made of: for the message that
tells a user who named the wrong format which one would read their input."""

from __future__ import annotations

from pathlib import PurePosixPath

#: How many characters of a found column name an error shows (a Yes.com folder read as CSV has one "column", its
#: whole first line: ~10 KB of ids).
SHOWN = 40


def likely_format(names: list[str]) -> str | None:
    """yes, mpd, mtx or long for file names (relative to the input) that look like one, else None."""
    files = [PurePosixPath(name) for name in names]
    if {"train.txt", "song_hash.txt"} <= {f.name for f in files}:
        return "yes"
    suffixes = {f.suffix.lower() for f in files}
    if ".mtx" in suffixes:
        return "mtx"
    if ".json" in suffixes:
        return "mpd"
    if suffixes & {".csv", ".parquet", ".tsv"}:
        return "long"
    return None


def columns_shown(columns: list[str], most: int = 8) -> str:
    """Column names for an error message: each cut to SHOWN characters, at most ``most`` of them."""
    cut = [repr(name) if len(name) <= SHOWN else f"{name[:SHOWN]!r}... ({len(name):,} characters)" for name in columns]
    more = f" and {len(cut) - most} more" if len(cut) > most else ""
    return ", ".join(cut[:most]) + more
