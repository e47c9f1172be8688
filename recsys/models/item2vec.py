"""item2vec: gensim skip-gram with negative sampling over playlists as sentences (Barkan & Koenigstein 2016).

Two uses of one model. Similar items and user vectors compare input vectors (cosine). The next song is scored
the way skip-gram was trained to predict a context word: the recent items' input vectors against every item's
output vector (gensim's syn1neg), as in Caselles-Dupre et al., "Word2vec applied to Recommendation:
Hyperparameters Matter" (RecSys 2018).

Sentences stream from the sequences Parquet that Spark wrote, one record batch at a time, once per epoch: the log
is never held in memory as Python lists.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.dataset as ds
import scipy.sparse as sp

from recsys import schemas as S
from recsys.index import Index
from recsys.index.written import Indexed
from recsys.layout import (
    INDEX_ITEMS_ITEM2VEC,
    INDEX_ITEMS_ITEM2VEC_NEXT,
    INDEX_USERS_ITEM2VEC,
    ITEM2VEC_ITEM_VECTORS,
    ITEM2VEC_OUTPUT_VECTORS,
    ITEM2VEC_USER_VECTORS,
    writable,
)
from recsys.models.base import History, Inputs, binary_mean_rows, recommend_by_scoring
from recsys.models.searched import Searched
from recsys.progress import Progress
from recsys.settings import Item2VecSettings
from recsys.stages import stage
from recsys.vectors import l2_normalize

log = logging.getLogger(__name__)


class ParquetSentences:
    """Re-iterable corpus: each playlist's item indexes as string tokens (gensim's vocabulary keys)."""

    def __init__(self, sequences_path: str, batch_size: int = 65_536) -> None:
        self.dataset = ds.dataset(sequences_path, format="parquet")
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[list[str]]:
        for batch in self.dataset.to_batches(columns=[S.ITEMS], batch_size=self.batch_size):
            for items in batch.column(0).to_pylist():
                yield [str(i) for i in items]


def user_weights(user_items: sp.csr_matrix, sequences_path: str, settings: Item2VecSettings) -> sp.csr_matrix:
    """users x items weights, rows summing to 1: multiplied by item vectors they give user vectors.

    ``mean``: every distinct item alike. ``idf``: smoothed inverse holder frequency, 1 + log((1 + users) /
    (1 + holders)), so an item in every playlist counts least (never zero: a user of only such items keeps one).
    ``recency``: ``user_recency_decay`` to the power of the item's age in the playlist (0 for the latest), so
    the vector follows the user's latest taste.
    """
    if settings.user_weighting == "mean":
        return binary_mean_rows(user_items)
    if settings.user_weighting == "idf":
        weights = user_items.astype(np.float32, copy=True)
        holders = np.bincount(weights.indices, minlength=user_items.shape[1])
        idf = 1.0 + np.log((1.0 + user_items.shape[0]) / (1.0 + holders))
        weights.data = idf[weights.indices].astype(np.float32)
    else:
        users, offsets, items = S.read_sequences(sequences_path)
        lengths = np.diff(offsets)
        rows = np.repeat(users, lengths)
        age = np.repeat(offsets[1:], lengths) - 1 - np.arange(len(items))
        decay = (settings.user_recency_decay**age).astype(np.float32)
        weights = sp.csr_matrix((decay, (rows, items)), shape=user_items.shape)  # repeats of an item add up
    totals = np.asarray(weights.sum(axis=1)).ravel()
    return sp.diags(1.0 / np.maximum(totals, 1e-12)).astype(np.float32) @ weights


#: gensim's learning rate falls linearly to this share of its initial value over the epochs.
FINAL_ALPHA_SHARE = 0.0001 / 0.025


def training_schedule(settings: Item2VecSettings, corpus_tokens: int) -> tuple[int, float]:
    """Epochs and initial learning rate for a corpus of ``corpus_tokens``.

    Within ``token_budget`` every corpus trains ``epochs`` passes at ``alpha``, as tuned on yes_small. A larger one
    gets the passes that fit the budget, never under ``min_epochs``, and a learning rate raised by the square root
    of the passes it lost, up to ``max_alpha``: on an MPD-shaped log (30 plays per track) three passes found the
    planted next track for 4% of tracks at 0.025, 56% at 0.15, and diverged at 0.3 (docs/models.md).
    """
    epochs = min(settings.epochs, max(settings.min_epochs, settings.token_budget // max(corpus_tokens, 1)))
    if epochs >= settings.epochs:
        return settings.epochs, settings.alpha
    return epochs, min(settings.max_alpha, settings.alpha * (settings.epochs / epochs) ** 0.5)


def epoch_progress(epochs: int) -> Any:
    """A gensim callback that logs a progress line per epoch (recsys.cli quiets gensim's own lines)."""
    from gensim.models.callbacks import CallbackAny2Vec  # training only, as in Item2Vec.fit

    class EpochProgress(CallbackAny2Vec):
        def __init__(self) -> None:
            self.progress = Progress("item2vec", epochs, "epochs")

        def on_epoch_end(self, model: Any) -> None:
            self.progress.advance()

    return EpochProgress()


class Item2Vec:
    name = "item2vec"

    def __init__(self, settings: Item2VecSettings) -> None:
        self.settings = settings

    @classmethod
    def train(cls, inputs: Inputs, settings: Item2VecSettings) -> Item2Vec:
        return cls(settings).fit(inputs.tables.sequences, inputs.tables.n_items)

    def save(self, folder: Path) -> None:
        """The input vectors (similar items, user vectors) and the output vectors (the next song)."""
        np.save(writable(folder, ITEM2VEC_ITEM_VECTORS), self.item_vectors_)
        np.save(writable(folder, ITEM2VEC_OUTPUT_VECTORS), self.output_vectors_)

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: Item2VecSettings) -> Item2Vec:
        return cls.from_vectors(
            settings, np.load(folder / ITEM2VEC_ITEM_VECTORS), np.load(folder / ITEM2VEC_OUTPUT_VECTORS)
        )

    def indexed(self, inputs: Inputs) -> dict[str, Indexed]:
        """The indexes the service searches: similar items (cosine of input vectors), the next song (a context's
        input vector against the output vectors) and similar users (their items' mean input vectors, from
        ``inputs``' history, saved for the service's queries too)."""
        with stage("user vectors"):
            users = self.user_vectors(inputs.history.user_items, inputs.tables.sequences)
        return {
            INDEX_ITEMS_ITEM2VEC: Indexed(self.item_vectors_, "cosine", self.item_vectors_),
            INDEX_ITEMS_ITEM2VEC_NEXT: Indexed(self.output_vectors_, "ip", self.item_vectors_),
            INDEX_USERS_ITEM2VEC: Indexed(users, "cosine", users, saved_as=ITEM2VEC_USER_VECTORS),
        }

    def served(self, indexes: Mapping[str, Index]) -> Item2Vec | Searched:
        """As the service answers with it: the next song searched among the output vectors (a bundle built before
        that index existed scores every item)."""
        if INDEX_ITEMS_ITEM2VEC_NEXT not in indexes:
            return self

        def queries(_: np.ndarray, rows: History) -> np.ndarray:
            return self.context_vectors(rows.recent)

        return Searched(self.name, indexes[INDEX_ITEMS_ITEM2VEC_NEXT], queries, self)

    @functools.cached_property
    def unit_vectors(self) -> np.ndarray:
        """The input vectors L2-normalised, computed once and shared (similar items, the ranker's cosines): at MPD
        size 2.2M x 100 floats, too many to hold twice."""
        return l2_normalize(self.item_vectors_)

    def fit(self, sequences_path: str, n_items: int) -> Item2Vec:
        """Train skip-gram; items gensim dropped (min_count) keep zero input and output vectors."""
        from gensim.models import Word2Vec  # training only: serving a bundle never imports gensim

        s = self.settings
        corpus = ParquetSentences(sequences_path)
        model = Word2Vec(
            sg=1,
            hs=0,
            vector_size=s.vector_size,
            window=s.window,
            negative=s.negative,
            ns_exponent=s.ns_exponent,
            sample=s.sample,
            min_count=s.min_count,
            workers=s.workers,
            seed=s.seed,
        )
        model.build_vocab(corpus_iterable=corpus)
        self.epochs_, self.alpha_ = training_schedule(s, model.corpus_total_words)
        log.info(
            "item2vec: %d epochs from alpha %.3f over %d tokens", self.epochs_, self.alpha_, model.corpus_total_words
        )
        model.train(
            corpus_iterable=corpus,
            total_examples=model.corpus_count,
            epochs=self.epochs_,
            start_alpha=self.alpha_,
            end_alpha=self.alpha_ * FINAL_ALPHA_SHARE,
            callbacks=[epoch_progress(self.epochs_)],
        )
        keys = np.fromiter((int(key) for key in model.wv.index_to_key), dtype=np.int64)
        self.item_vectors_ = np.zeros((n_items, s.vector_size), dtype=np.float32)
        self.item_vectors_[keys] = model.wv.vectors
        self.output_vectors_ = np.zeros((n_items, s.vector_size), dtype=np.float32)
        self.output_vectors_[keys] = model.syn1neg
        log.info("item2vec: %d of %d items have vectors", len(keys), n_items)
        return self

    def user_vectors(self, user_items: sp.csr_matrix, sequences_path: str) -> np.ndarray:
        """Weighted mean of each user's items' input vectors (``item2vec.user_weighting``)."""
        weights = user_weights(user_items, sequences_path, self.settings)
        return np.asarray(weights @ self.item_vectors_, dtype=np.float32)

    @classmethod
    def from_vectors(cls, settings: Item2VecSettings, item_vectors: np.ndarray, output_vectors: np.ndarray) -> Item2Vec:
        """A fitted model from a bundle's saved input and output vectors (the service's way in)."""
        model = cls(settings)
        model.item_vectors_, model.output_vectors_ = item_vectors, output_vectors
        return model

    def context_vectors(self, recent: np.ndarray) -> np.ndarray:
        """Recency-weighted mean input vector of each row's last ``context_items`` items (-1 entries skipped)."""
        recent = recent[:, -self.settings.context_items :]
        ages = np.arange(recent.shape[1] - 1, -1, -1)
        weights = np.where(recent >= 0, self.settings.context_decay**ages, 0.0).astype(np.float32)
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        return np.einsum("ul,uld->ud", weights, self.item_vectors_[np.maximum(recent, 0)])

    def next_scores(self, recent: np.ndarray) -> np.ndarray:
        """Skip-gram's own prediction: context input vectors dotted with every item's output vector."""
        return self.context_vectors(recent) @ self.output_vectors_.T

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The next song after each user's latest items."""
        return recommend_by_scoring(lambda block: self.next_scores(block.recent), users, history, k)
