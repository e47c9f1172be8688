"""item2vec: gensim skip-gram with negative sampling over playlists as sentences (Barkan & Koenigstein 2016).

Two uses of one model. Similar items and user vectors compare input vectors (cosine). The next song is scored
the way skip-gram was trained to predict a context word: the recent items' input vectors against every item's
output vector (gensim's syn1neg), as in Caselles-Dupre et al., "Word2vec applied to Recommendation:
Hyperparameters Matter" (RecSys 2018).

Sentences stream from the sequences Parquet that Spark wrote, one record batch at a time, once per epoch: the log
is never held in memory as Python lists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pyarrow.dataset as ds
import scipy.sparse as sp
from gensim.models import Word2Vec

from recsys import schemas as S
from recsys.models.base import History, binary_mean_rows, recommend_by_scoring
from recsys.settings import Item2VecSettings

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


class Item2Vec:
    name = "item2vec"

    def __init__(self, settings: Item2VecSettings) -> None:
        self.settings = settings

    def fit(self, sequences_path: str, n_items: int) -> Item2Vec:
        """Train skip-gram; items gensim dropped (min_count) keep zero input and output vectors."""
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
        model.train(corpus_iterable=corpus, total_examples=model.corpus_count, epochs=s.epochs)
        keys = np.fromiter((int(key) for key in model.wv.index_to_key), dtype=np.int64)
        self.item_vectors_ = np.zeros((n_items, s.vector_size), dtype=np.float32)
        self.item_vectors_[keys] = model.wv.vectors
        self.output_vectors_ = np.zeros((n_items, s.vector_size), dtype=np.float32)
        self.output_vectors_[keys] = model.syn1neg
        log.info("item2vec: %d of %d items have vectors", len(keys), n_items)
        return self

    def user_vectors(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Mean of each user's items' vectors."""
        return np.asarray(binary_mean_rows(user_items) @ self.item_vectors_, dtype=np.float32)

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
