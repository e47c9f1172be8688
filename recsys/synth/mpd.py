"""MPD-shaped slices and a challenge set drawn from the planted model of recsys.synth, to develop the RecSys
Challenge 2018 protocol on without the MPD itself (which cannot be redistributed).

The slices follow the real schema (``info``; ``playlists`` with ``name``, ``pid``, ``num_tracks``, ... and
``tracks`` with ``pos``, ``track_uri``, ``artist_uri``, ``album_uri``, names, ``duration_ms``). Each playlist's name
comes from its taste cluster's vocabulary with the noise real titles have (case, emoji, "my ... mix", years, words
shared between clusters, titles that say nothing), so a title model has something true but imperfect to learn.
The challenge set is drawn from further playlists of the same model, never written to the slices, in the
challenge's ten categories; its held-out tracks are written apart, for offline scoring only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from recsys.challenge import CATEGORIES, min_length
from recsys.synth.generator import Catalogue, SynthConfig, playlist_batch

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SLICE = 1000  # playlists per slice file, as in the MPD

#: Mood and genre words; cluster c names from three of them and shares one with each neighbouring cluster, as
#: real genres share words.
WORDS = (
    "chill", "rock", "country", "workout", "party", "jazz", "sleep", "summer", "throwback", "indie",
    "edm", "christmas", "gospel", "latin", "metal", "punk", "love", "sad", "road trip", "study",
    "90s", "80s", "classical", "reggae", "rap", "pop", "folk", "blues", "disney", "kpop",
    "lofi", "house", "techno", "soul", "funk", "dance", "worship", "oldies", "acoustic", "hip hop",
)  # fmt: skip
GENERIC = ("music", "songs", "playlist", "new playlist", "my playlist", "favorites", "good stuff", "mix")
EMOJI = ("🔥", "🌴", "💪", "❤️", "🎶", "☀️", "😎", "🎄")


@lru_cache(maxsize=1 << 20)
def uri(kind: str, number: int, seed: int) -> str:
    """``spotify:KIND:`` and 22 base-62 characters, fixed by (kind, number, seed) like a real id is by its item."""
    value = int.from_bytes(hashlib.blake2b(f"{kind}:{number}:{seed}".encode(), digest_size=16).digest(), "big")
    chars = []
    for _ in range(22):
        value, digit = divmod(value, 62)
        chars.append(BASE62[digit])
    return f"spotify:{kind}:{''.join(chars)}"


@dataclass(frozen=True)
class Names:
    """Draws playlist names for clusters: mostly the cluster's own words, with the noise real titles have."""

    clusters: int
    seed: int

    def vocabulary(self, cluster: int) -> tuple[str, ...]:
        return tuple(WORDS[(2 * cluster + j) % len(WORDS)] for j in range(3))

    def draw(self, cluster: int, rng: np.random.Generator) -> str:
        roll = rng.random()
        if roll < 0.10:  # says nothing about the music
            return str(rng.choice(GENERIC))
        if roll < 0.15:  # another cluster's title (a mislabelled or eclectic playlist)
            cluster = int(rng.integers(self.clusters))
        words = self.vocabulary(cluster)
        word = str(words[int(rng.integers(len(words)))])
        form = rng.random()
        if form < 0.15:
            title = f"my {word} mix"
        elif form < 0.30:
            title = f"{word} {int(rng.integers(2010, 2018))}"
        elif form < 0.45:
            title = f"{word} {rng.choice(EMOJI)}"
        elif form < 0.55:
            other = str(words[int(rng.integers(len(words)))])
            title = f"{word} & {other}" if other != word else f"{word} vibes"
        elif form < 0.65:
            title = f"{word}!!"
        else:
            title = word
        case = rng.random()
        return title.upper() if case < 0.1 else title.title() if case < 0.4 else title


def _track(catalogue: Catalogue, track: int, position: int, seed: int) -> dict[str, Any]:
    """One track entry of a slice: artists hold 8 tracks of one cluster, albums 4."""
    cluster = int(catalogue.cluster[track])
    rank = track // catalogue.clusters
    artist, album = (rank // 8) * catalogue.clusters + cluster, (rank // 4) * catalogue.clusters + cluster
    return {
        "pos": position,
        "artist_name": f"Artist {artist}",
        "track_uri": uri("track", track, seed),
        "artist_uri": uri("artist", artist, seed),
        "track_name": f"Track {track}",
        "album_uri": uri("album", album, seed),
        "duration_ms": 150_000 + (track * 7919) % 150_000,
        "album_name": f"Album {album}",
    }


def _playlists(first: int, count: int, config: SynthConfig, catalogue: Catalogue) -> list[dict[str, Any]]:
    """Playlists first..first+count-1 in the slice schema, named from their cluster (the cluster of their first
    track: the model draws a playlist's tracks from one cluster)."""
    batch = playlist_batch(first, count, config, catalogue)
    names = Names(config.clusters, config.seed)
    rng = np.random.default_rng([config.seed, first, 1])
    bounds = np.flatnonzero(np.diff(batch["user"], prepend=-1, append=-1))
    playlists = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        tracks = [int(t) for t in batch["track"][start:end]]
        entries = [_track(catalogue, t, pos, config.seed) for pos, t in enumerate(tracks)]
        playlists.append(
            {
                "name": names.draw(int(catalogue.cluster[tracks[0]]), rng),
                "collaborative": "false",
                "pid": int(batch["user"][start]),
                "modified_at": 1_500_000_000 + int(batch["user"][start]) % 10_000_000,
                "num_tracks": len(entries),
                "num_albums": len({e["album_uri"] for e in entries}),
                "num_followers": 1,
                "tracks": entries,
                "num_edits": 1,
                "duration_ms": sum(e["duration_ms"] for e in entries),
                "num_artists": len({e["artist_uri"] for e in entries}),
            }
        )
    return playlists


def write_slices(config: SynthConfig, folder: Path) -> list[Path]:
    """``config.playlists`` playlists as ``mpd.slice.A-B.json`` files of 1,000, as the MPD ships them."""
    folder.mkdir(parents=True, exist_ok=True)
    catalogue = Catalogue.of(config)
    written = []
    for first in range(0, config.playlists, SLICE):
        last = min(first + SLICE, config.playlists) - 1
        document = {
            "info": {"generated_on": "synthetic", "slice": f"{first}-{last}", "version": "v1"},
            "playlists": _playlists(first, last - first + 1, config, catalogue),
        }
        path = folder / f"mpd.slice.{first}-{last}.json"
        path.write_text(json.dumps(document, ensure_ascii=False))
        written.append(path)
    return written


def check_challenge_config(config: SynthConfig) -> None:
    """ValueError naming --max-length when no playlist could be long enough for the categories with 100 seeds."""
    longest = max(min_length(seeds) for _, seeds, _ in CATEGORIES)
    if config.max_length < longest:
        raise ValueError(
            f"--max-length {config.max_length}: the categories with 100 seeds need playlists of {longest} "
            "(the MPD's own cap is 250: --mean-length 66 --max-length 250)"
        )


def write_challenge(config: SynthConfig, per_category: int, challenge: Path, holdouts: Path) -> None:
    """A challenge set of ``per_category`` playlists in each of the ten categories, pids after the slices', and
    its held-out track URIs (``{"pid": [uri, ...]}``) apart. A category takes the next pooled playlists long
    enough for it (min_length), so each is drawn from the playlists that could have served it."""
    check_challenge_config(config)
    catalogue = Catalogue.of(config)
    rng = np.random.default_rng([config.seed, 2018])
    pool: list[dict[str, Any]] = []
    next_pid = config.playlists
    answers: dict[str, list[str]] = {}
    entries = []
    for has_name, seeds, first in CATEGORIES:
        chosen = 0
        while chosen < per_category:
            if not pool:
                pool = _playlists(next_pid, 10 * per_category, config, catalogue)
                next_pid += 10 * per_category
            playlist = pool.pop(0)
            tracks = playlist["tracks"]
            if len(tracks) < min_length(seeds):
                continue
            picked = range(seeds) if first else sorted(rng.choice(len(tracks), seeds, replace=False).tolist())
            given = [tracks[i] for i in picked]
            seed_uris = {t["track_uri"] for t in given}
            entry = {
                "pid": playlist["pid"],
                "num_holdouts": len(tracks) - seeds,
                "num_samples": seeds,
                "num_tracks": len(tracks),
                "tracks": given,
            }
            if has_name:
                entry = {"name": playlist["name"], **entry}
            entries.append(entry)
            # what is left to find: each other track once (a playlist may repeat one; a seed cannot be an answer)
            left = dict.fromkeys(t["track_uri"] for t in tracks)
            answers[str(playlist["pid"])] = [track for track in left if track not in seed_uris]
            chosen += 1
    challenge.parent.mkdir(parents=True, exist_ok=True)
    challenge.write_text(json.dumps({"date": "synthetic", "version": "v1", "playlists": entries}, ensure_ascii=False))
    holdouts.parent.mkdir(parents=True, exist_ok=True)
    holdouts.write_text(json.dumps(answers))
