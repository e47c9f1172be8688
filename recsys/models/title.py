"""Tracks for a playlist from its name alone: what playlists of the same name, then of the same words, hold.

One playlist in ten of the RecSys Challenge 2018 set has a title and no track. A title is evidence in three
grades, each smoothed towards the next so a rare one borrows from a common one (additive smoothing with a prior
of ``smoothing`` pseudo-playlists):

    words(q)  = (sum over q's known words w of holders_w   + smoothing * popularity) / (sum of playlists_w + smoothing)
    title(q)  = (holders of the exact normal form q         + smoothing * words(q))  / (playlists named q + smoothing)

where ``holders`` counts the playlists of that name (or with that word) holding each track and ``popularity`` is
the share of all playlists holding it. A name seen 500 times is answered by its own playlists; a new name by its
words; a name without a known word by popularity. Names are compared in recsys.names' normal form.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys.layout import TITLE_MODEL, writable
from recsys.models.base import Inputs, top_k
from recsys.names import normalise
from recsys.settings import TitleSettings


def _indicator(keys: list[list[str]], vocabulary: dict[str, int]) -> sp.csr_matrix:
    """(vocabulary x rows) 0/1 matrix: which rows carry each key."""
    rows, cols = [], []
    for row, row_keys in enumerate(keys):
        for key in set(row_keys):
            rows.append(vocabulary[key])
            cols.append(row)
    data = np.ones(len(rows), np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(vocabulary), len(keys)))


def _keep_top(matrix: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Each row's ``n`` largest entries: a common word holds most of the catalogue, of which its top matters."""
    matrix = matrix.tocsr()
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if end - start > n:
            values = matrix.data[start:end]
            values[np.argpartition(values, end - start - n)[: end - start - n]] = 0.0
    matrix.eliminate_zeros()
    return matrix


class TitleModel:
    name = "title"

    def __init__(self, settings: TitleSettings | None = None) -> None:
        self.settings = settings or TitleSettings()
        self.smoothing, self.top_n = self.settings.smoothing, self.settings.top_n

    @classmethod
    def train(cls, inputs: Inputs, settings: TitleSettings) -> TitleModel | None:
        """Fitted on the playlists' names and what they hold; None where the input named none."""
        names = inputs.playlist_names
        return None if names is None else cls(settings).fit(names, inputs.history.user_items)

    def fit(self, names: Sequence[str | None], user_items: sp.csr_matrix) -> TitleModel:
        """``names[u]`` is playlist u's name (None or "" where it has none); ``user_items`` its tracks."""
        held = user_items.copy().astype(np.float32)
        held.data[:] = 1.0
        normal = [normalise(name) if name else "" for name in names]
        titles = [[n] if n else [] for n in normal]
        words = [n.split() for n in normal]
        self.titles_ = {t: i for i, t in enumerate(sorted({n for n in normal if n}))}
        self.words_ = {w: i for i, w in enumerate(sorted({w for ws in words for w in ws}))}
        by_title, by_word = _indicator(titles, self.titles_), _indicator(words, self.words_)
        self.title_playlists_ = np.asarray(by_title.sum(axis=1)).ravel()
        self.word_playlists_ = np.asarray(by_word.sum(axis=1)).ravel()
        self.title_holders_ = _keep_top(by_title @ held, self.top_n)
        self.word_holders_ = _keep_top(by_word @ held, self.top_n)
        self.popularity_ = np.asarray(held.sum(axis=0)).ravel() / max(1, held.shape[0])
        self.named_playlists_ = sum(1 for title in titles if title)
        return self

    def summary(self) -> dict[str, int]:
        """What the manifest says of the fit: how many playlists had a name, how many names and words it knows."""
        return {"named_playlists": self.named_playlists_, "titles": len(self.titles_), "words": len(self.words_)}

    def save(self, folder: Path) -> None:
        """Plain arrays in one .npz (names as fixed-width unicode): loadable with allow_pickle=False."""
        arrays = {"popularity": self.popularity_}
        for kind, keys, playlists, holders in (
            ("title", self.titles_, self.title_playlists_, self.title_holders_),
            ("word", self.words_, self.word_playlists_, self.word_holders_),
        ):
            arrays |= {
                f"{kind}_keys": np.array(sorted(keys, key=keys.__getitem__), dtype=str),
                f"{kind}_playlists": playlists,
                f"{kind}_indptr": holders.indptr,
                f"{kind}_indices": holders.indices,
                f"{kind}_data": holders.data,
            }
        np.savez(writable(folder, TITLE_MODEL), **arrays)

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: TitleSettings) -> TitleModel | None:
        """The bundle's title model, or None where its input named no playlist."""
        path = folder / TITLE_MODEL
        if not path.is_file():
            return None
        model = cls(settings)
        with np.load(path, allow_pickle=False) as arrays:
            model.popularity_ = arrays["popularity"]
            n_items = len(model.popularity_)
            for kind in ("title", "word"):
                keys = arrays[f"{kind}_keys"].tolist()
                holders = sp.csr_matrix(
                    (arrays[f"{kind}_data"], arrays[f"{kind}_indices"], arrays[f"{kind}_indptr"]),
                    shape=(len(keys), n_items),
                )
                setattr(model, f"{kind}s_", {key: i for i, key in enumerate(keys)})
                setattr(model, f"{kind}_playlists_", arrays[f"{kind}_playlists"])
                setattr(model, f"{kind}_holders_", holders)
        return model

    def scores(self, names: Sequence[str]) -> np.ndarray:
        """(len(names) x items) scores, each row a smoothed share of playlists that hold the track."""
        evidence, weights = self.evidence(names)
        return evidence.toarray() + weights[:, None] * self.popularity_[None, :]

    def evidence(self, names: Sequence[str]) -> tuple[sp.csr_matrix, np.ndarray]:
        """Each name's scores split as ``evidence[row] + weights[row] * popularity``: both grades of smoothing are
        linear in popularity, so the tracks a name's playlists hold are a sparse part, and the rest of the
        catalogue ranks by popularity alone (which ``top`` uses to rank without a dense row)."""
        s = self.smoothing
        rows, weights = [], np.ones(len(names), np.float32)
        empty = sp.csr_matrix((1, len(self.popularity_)), dtype=np.float32)
        for row, name in enumerate(names):
            normal = normalise(name)
            known = [self.words_[w] for w in set(normal.split()) if w in self.words_]
            words = empty
            if known:  # words = (holders + s * popularity) / (playlists + s)
                total = self.word_playlists_[known].sum() + s
                words = sp.csr_matrix(self.word_holders_[known].sum(axis=0)) / total
                weights[row] = s / total
            title = self.titles_.get(normal)
            if title is not None:  # title = (holders + s * words) / (playlists + s)
                total = self.title_playlists_[title] + s
                words = (self.title_holders_[title] + s * words) / total
                weights[row] *= s / total
            rows.append(sp.csr_matrix(words, dtype=np.float32))
        evidence = (
            sp.vstack(rows, format="csr") if rows else sp.csr_matrix((0, len(self.popularity_)), dtype=np.float32)
        )
        return evidence, weights

    def top(self, names: Sequence[str], seen: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` tracks per name (top_k's ids and scores), ``seen`` rows masked: exact, scoring only the
        name's evidence and the most popular tracks (no other track can outrank the k-th unseen popular one)."""
        evidence, weights = self.evidence(names)
        popular = self.popular_(k + int(np.diff(seen.indptr).max(initial=0)))
        rows = np.repeat(np.arange(len(names)), len(popular))
        ones = np.ones(len(rows), np.float32)
        candidates = (sp.csr_matrix((ones, (rows, np.tile(popular, len(names)))), evidence.shape) + evidence) != 0
        prior = sp.diags(weights) @ sp.csr_matrix(candidates.multiply(self.popularity_[None, :]), dtype=np.float32)
        return top_k(evidence + prior, seen, k)

    def popular_(self, n: int) -> np.ndarray:
        """The ``n`` most popular tracks."""
        n = min(n, len(self.popularity_))
        return np.argpartition(-self.popularity_, n - 1)[:n] if n else np.empty(0, np.int64)
