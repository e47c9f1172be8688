"""Playlist names as the RecSys Challenge 2018 teams compared them: one normal form, then tokens.

"Chill Vibes 🌴", "chill vibes!!" and "ＣＨＩＬＬ  vibes" are one title to a listener, so they must be one key to the
title model. The form: Unicode NFKC (full-width and compatibility characters folded), case folded, apostrophes
dropped inside words ("don't" -> "dont"), other punctuation and symbols turned into spaces, emoji kept as tokens
of their own (a 🔥 playlist is a kind of playlist), joiners and variation selectors dropped, whitespace collapsed.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

APOSTROPHES = frozenset("'’ʼ`´")


def _kind(char: str) -> str:
    """'keep' a letter or digit, 'emoji' a pictograph, 'drop' a mark or joiner, 'space' anything else."""
    category = unicodedata.category(char)
    if category[0] in "LN":
        return "keep"
    if category == "So":  # emoji and other pictographs: meaningful in titles
        return "emoji"
    if category in ("Mn", "Me", "Cf") or char in APOSTROPHES:
        return "drop"
    return "space"


@lru_cache(maxsize=65536)
def normalise(name: str) -> str:
    """The normal form of a playlist name; "" when nothing of it is a letter, digit or emoji."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKC", name).casefold():
        kind = _kind(char)
        if kind == "keep":
            out.append(char)
        elif kind == "emoji":
            out.append(f" {char} ")
        elif kind == "space":
            out.append(" ")
    return " ".join("".join(out).split())


def tokens(name: str) -> list[str]:
    """The normal form's words (emoji each a word of their own)."""
    return normalise(name).split()
