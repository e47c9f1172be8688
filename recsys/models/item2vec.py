"""item2vec: gensim skip-gram with negative sampling over playlists as sentences (Barkan & Koenigstein 2016).

Sentences stream from the sequences Parquet that Spark wrote, one record batch at a time, once per epoch:
the log is never held in memory as Python lists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pyarrow.dataset as ds
import scipy.sparse as sp
from gensim.models import Word2Vec

from recsys import schemas as S
from recsys.models.base import binary_mean_rows, l2_normalize, recommend_by_scoring
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
        """Train skip-gram; items gensim dropped (min_count) keep a zero vector."""
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
        log.info("item2vec: %d of %d items have vectors", len(keys), n_items)
        return self

    def user_vectors(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Mean of each user's items' vectors."""
        return np.asarray(binary_mean_rows(user_items) @ self.item_vectors_, dtype=np.float32)

    def recommend(self, users: np.ndarray, user_items: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosine between the user's mean vector and every item vector."""
        items = l2_normalize(self.item_vectors_)
        return recommend_by_scoring(lambda rows: l2_normalize(self.user_vectors(rows)) @ items.T, users, user_items, k)
