"""The RecSys Challenge 2018's files: the challenge set a team is given, and the submission it sends back.

Submission rules, as the organisers published them (restated here, checked by ``check_submission``):

1. Fields are separated by commas; whitespace around a comma is allowed. Lines starting with '#' are comments;
   empty lines are ignored. The file may be gzipped (``.gz``).
2. The first line that is neither is ``team_info,TEAM,TRACK,EMAIL`` with TRACK ``main`` or ``creative``.
3. Every other line is ``pid,uri1,...,uri500``: one line for each playlist of the challenge set, none twice, no
   pid the set does not have.
4. Each line names exactly 500 tracks, all ``spotify:track:`` URIs, no track twice, none of them a seed track of
   that playlist.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TRACKS = ("main", "creative")
LIST_LENGTH = 500
TRACK_URI = re.compile(r"spotify:track:[0-9A-Za-z]{22}")


#: The challenge's ten categories: (name given, seed tracks, seeds are the first ones rather than at random).
CATEGORIES: tuple[tuple[bool, int, bool], ...] = (
    (True, 0, True),
    (True, 1, True),
    (True, 5, True),
    (False, 5, True),
    (True, 10, True),
    (False, 10, True),
    (True, 25, True),
    (True, 25, False),
    (True, 100, True),
    (True, 100, False),
)


def category_label(has_name: bool, seeds: int, first: bool) -> str:
    """A category's name in reports: "title only", "title + first 5", "first 10 (no title)", "title + random 25"."""
    if seeds == 0:
        return "title only"
    which = f"{'first' if first else 'random'} {seeds}"
    return f"title + {which}" if has_name else f"{which} (no title)"


def min_length(seeds: int) -> int:
    """Tracks a playlist needs to serve a category with ``seeds`` seeds: at least as many left to predict as given,
    and never fewer than 5 (a title-only playlist of 1 track would measure luck)."""
    return max(2 * seeds, seeds + 5)


@dataclass(frozen=True)
class ChallengePlaylist:
    pid: int
    name: str | None  # None: the category without a title
    seeds: list[str]  # track URIs given, in playlist order
    num_holdouts: int
    seeds_first: bool = True  # the seeds are the playlist's first tracks (else drawn at random from it)

    @property
    def category(self) -> str:
        """The playlist's challenge category as reports name it (category_label)."""
        return category_label(self.name is not None, len(self.seeds), self.seeds_first)


def read_challenge_set(path: Path) -> list[ChallengePlaylist]:
    """The challenge set's playlists; ValueError naming the first thing that is not the published schema."""
    try:
        document = json.loads(Path(path).read_text())
        playlists = []
        for entry in document["playlists"]:
            tracks = sorted(entry["tracks"], key=lambda t: t["pos"])
            playlists.append(
                ChallengePlaylist(
                    pid=int(entry["pid"]),
                    name=entry.get("name"),
                    seeds=[track["track_uri"] for track in tracks],
                    num_holdouts=int(entry["num_holdouts"]),
                    seeds_first=[track["pos"] for track in tracks] == list(range(len(tracks))),
                )
            )
        return playlists
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a challenge set (playlists with pid, tracks, num_holdouts): {exc!r}") from exc


def _open(path: Path, mode: str) -> IO[str]:
    return gzip.open(path, mode + "t", encoding="utf-8") if path.suffix == ".gz" else open(path, mode, encoding="utf-8")


def check_team_info(team: str, email: str, track: str) -> None:
    """ValueError naming the flag when the team_info line could not be written as the rules ask."""
    if track not in TRACKS:
        raise ValueError(f"--track {track!r}: the challenge has {' and '.join(TRACKS)}")
    for field, value in (("team", team), ("email", email)):
        if not value or "," in value or "\n" in value:
            raise ValueError(f"--{field} {value!r}: must be non-empty, without commas or line breaks")


def write_submission(path: Path, team: str, email: str, track: str, answers: Iterable[tuple[int, list[str]]]) -> None:
    """``team_info`` and one line per (pid, track URIs), gzipped where ``path`` ends in .gz."""
    check_team_info(team, email, track)
    with _open(Path(path), "w") as out:
        out.write(f"team_info,{team},{track},{email}\n")
        for pid, uris in answers:
            out.write(f"{pid},{','.join(uris)}\n")


def check_submission(path: Path, challenge: list[ChallengePlaylist], length: int = LIST_LENGTH) -> list[str]:
    """Every broken rule (see the module's docstring), one line each; [] when valid. ``length``: the tracks each
    line must name (the challenge's 500; another only for offline files)."""
    problems: list[str] = []
    seeds = {playlist.pid: set(playlist.seeds) for playlist in challenge}
    seen: set[int] = set()
    team_info = False
    for number, fields in _fields(path):
        if not team_info:
            team_info = True
            if fields[0] != "team_info" or len(fields) != 4 or fields[2] not in TRACKS or not all(fields[1:]):
                problems.append(f"line {number}: the first line must be team_info,TEAM,main|creative,EMAIL")
            continue
        problems += _check_line(number, fields, seeds, seen, length)
    if not team_info:
        problems.append("no team_info line")
    missing = sorted(set(seeds) - seen)
    if missing:
        problems.append(f"{len(missing)} playlists of the challenge set have no line, e.g. pid {missing[0]}")
    return problems


def _fields(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, its comma-separated fields) for each line that is neither empty nor a comment."""
    with _open(Path(path), "r") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                yield number, [field.strip() for field in line.strip().split(",")]


def answer_lines(path: Path) -> Iterator[list[str]]:
    """The fields of a submission's answer lines (pid, track URIs), the team_info line left out."""
    answers = _fields(path)
    next(answers, None)
    for _, fields in answers:
        yield fields


def _check_line(number: int, fields: list[str], seeds: dict[int, set[str]], seen: set[int], length: int) -> list[str]:
    where = f"line {number}"
    try:
        pid = int(fields[0])
    except ValueError:
        return [f"{where}: {fields[0][:40]!r} is not a pid"]
    if pid not in seeds:
        return [f"{where}: pid {pid} is not in the challenge set"]
    if pid in seen:
        return [f"{where}: pid {pid} answered twice"]
    seen.add(pid)
    uris = fields[1:]
    problems = []
    if len(uris) != length:
        problems.append(f"{where}: pid {pid} has {len(uris)} tracks, not {length}")
    bad = [uri for uri in uris if not TRACK_URI.fullmatch(uri)]
    if bad:
        problems.append(f"{where}: pid {pid}: {bad[0][:60]!r} is not a spotify:track: URI")
    if len(set(uris)) != len(uris):
        problems.append(f"{where}: pid {pid} names a track twice")
    given = seeds[pid] & set(uris)
    if given:
        problems.append(f"{where}: pid {pid} includes its seed track {sorted(given)[0]}")
    return problems
