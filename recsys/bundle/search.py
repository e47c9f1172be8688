"""Find users and items as a person types: a prefix of their id, or of words of their metadata.

Every id and every word of every text column is a token; the tokens are sorted once (Arrow strings, ~13 bytes a
token), so a keystroke is two binary searches per word of the query and a look at no more than ``SCAN`` matching
tokens, never a pass over the catalogue. Matches are ranked by how many users hold the item (how many items the
user holds), so the well-known come first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

#: Matching tokens looked at per word of a query: a one-letter prefix of 2M titles matches millions, of which the
#: first SCAN in token order are ranked (a longer prefix narrows to what the person means).
SCAN = 5_000
#: What a word is, in a query and in the metadata.
WORD = re.compile(r"\w+")
#: Above every character: ``prefix + HIGHEST`` sorts after every token that starts with ``prefix``.
HIGHEST = "\U0010ffff"


class SearchIndex:
    """Prefix search over the ids of some rows and the words of their text columns."""

    def __init__(self, tokens: pl.Series, rows: np.ndarray, weight: np.ndarray) -> None:
        self.tokens, self.rows, self.weight = tokens, rows, weight

    @classmethod
    def of(cls, ids: Sequence[str], texts: pl.DataFrame | None, weight: np.ndarray) -> SearchIndex:
        """Row i is ``ids[i]``, with ``texts``'s row i (its string columns; None: ids only); ``weight[i]`` ranks it."""
        frame = pl.DataFrame({"row": np.arange(len(ids), dtype=np.int32), "text": pl.Series(ids, dtype=pl.String)})
        whole = frame.select("row", pl.col("text").str.to_lowercase().alias("token"))
        columns = [] if texts is None else [c for c, t in texts.schema.items() if t == pl.String]
        words = [
            frame.select("row", texts[c].str.to_lowercase().str.extract_all(WORD.pattern).alias("token")).explode(
                "token"
            )
            for c in columns
        ]
        tokens = pl.concat([whole, *words]).drop_nulls().sort("token")  # repeats are harmless: find dedupes
        return cls(tokens["token"], tokens["row"].to_numpy(), np.asarray(weight, dtype=np.float64))

    def find(self, query: str, k: int) -> np.ndarray:
        """Up to ``k`` rows, heaviest first: those whose id starts with the query, and those with a word
        starting with each of its words."""
        text = query.strip().lower()
        if not text:
            return np.empty(0, np.int64)
        found = [self._prefixed(text)]
        words = WORD.findall(text)
        if words:
            every = self._prefixed(words[0])
            for word in words[1:]:
                every = np.intersect1d(every, self._prefixed(word))
            found.append(every)
        rows = np.unique(np.concatenate(found))
        order = np.lexsort((rows, -self.weight[rows]))  # heaviest first, ties by row
        return rows[order[:k]]

    def _prefixed(self, prefix: str) -> np.ndarray:
        """Rows with a token starting with ``prefix`` (the first SCAN such tokens)."""
        start = int(self.tokens.search_sorted(prefix, side="left"))
        end = int(self.tokens.search_sorted(prefix + HIGHEST, side="left"))
        return np.unique(self.rows[start : min(end, start + SCAN)])


class LazySearch:
    """A SearchIndex built in a background thread once the bundle has loaded (seconds on a 1.3M-item catalogue:
    docs/BENCHMARKS.md), so readiness does not wait for it; a search that comes first waits for the build."""

    def __init__(self, build: Callable[[], SearchIndex]) -> None:
        self._build, self._lock = build, threading.Lock()
        self._index: SearchIndex | None = None
        threading.Thread(target=self._built, name="search-index", daemon=True).start()

    def _built(self) -> SearchIndex:
        with self._lock:
            if self._index is None:
                self._index = self._build()
            return self._index

    def find(self, query: str, k: int) -> np.ndarray:
        return self._built().find(query, k)
