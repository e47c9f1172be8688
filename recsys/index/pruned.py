"""The ``pruned`` index kind: exact inner-product search that stops early, for vectors whose norms are skewed.

The vectors sit in a plain FAISS ``IndexIDMap(IndexFlatIP)`` by descending norm, each under its own position as id,
so the file is written, read and memory-mapped like any flat index (and FAISS's own ``search`` over it is exact).
Searched here instead, block by block in norm order: an item scores at most |query| x |item| (Cauchy-Schwarz), so
once |query| x the next norm is below the k-th score found, nothing later can enter the top k (LEMP's length-based
pruning, Teflioudi et al. 2015). ALS item norms grow with popularity and are very skewed, so that point comes early
(docs/models.md); with equal norms it never comes and every vector is scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

#: Vectors a search scores before it first checks its bound (at least; see FIRST_BLOCK_SHARE); each later block
#: doubles what it has scored.
FIRST_BLOCK = 2048
#: ... or this share of the catalogue, if larger: the depth the bound needs grows with the catalogue (8-16k of the
#: 1.3M-item load-test bundle's ALS items, against 2-4k of 100k), and every block costs a round of numpy calls.
FIRST_BLOCK_SHARE = 1 / 64


def norm_ordered_index(data: np.ndarray) -> faiss.IndexIDMap:
    """The FAISS index a ``pruned`` kind is written as: ``data``'s rows by descending norm, ids = their positions."""
    order = np.argsort(-np.linalg.norm(data, axis=1), kind="stable")
    index = faiss.IndexIDMap(faiss.IndexFlatIP(data.shape[1]))
    index.add_with_ids(data[order], order.astype(np.int64))
    return index


@dataclass(frozen=True, eq=False)
class NormOrdered:
    """A ``pruned`` index ready to search: views of the vectors and ids FAISS stores (nothing copied, so memory-mapped
    pages stay shared between processes) and the row of each id (4 bytes per vector, in each process), which tells
    each block how many excluded ids it holds without comparing every scored id with them."""

    index: faiss.IndexIDMap
    vectors: np.ndarray  # by descending norm
    ids: np.ndarray  # ids[row]
    rows: np.ndarray  # rows[id]

    @classmethod
    def of(cls, index: faiss.IndexIDMap) -> NormOrdered:
        n, dim = index.ntotal, index.d
        vectors = faiss.rev_swig_ptr(faiss.downcast_index(index.index).get_xb(), n * dim).reshape(n, dim)
        ids = faiss.rev_swig_ptr(index.id_map.data(), n)
        rows = np.empty(n, dtype=np.int32)
        rows[ids] = np.arange(n, dtype=np.int32)
        return cls(index, vectors, ids, rows)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k (ids, scores) of one query, best first, ``exclude`` ids left out."""
        masked = np.sort(self.rows[exclude]) if exclude is not None and len(exclude) else None
        rows, scores, _ = self.scan(np.reshape(query, (1, -1)), k, masked)
        keep = np.isfinite(scores[0])
        return self.ids[rows[0][keep]].copy(), scores[0][keep]

    def search_many(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Exact top-k ids of each query row, best first, padded with -1."""
        rows, scores, _ = self.scan(queries, k)
        return np.where(np.isfinite(scores), self.ids[rows], -1)

    def scan(
        self, queries: np.ndarray, k: int, masked: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k (rows, scores) per query, best first (-inf where fewer than k), and how many rows each scored.

        Each block's top k comes from FAISS's brute-force ``knn`` over that slice of the stored vectors (one C++ call:
        a BLAS product for a batch, a SIMD loop for one query) and is merged into the running top k; a query leaves
        the batch once its bound is met. ``masked``: sorted rows left out, for a batch of one query; a block is
        asked for as many more results as it holds masked rows, which are then dropped.
        """
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(len(queries), -1)
        n, k = len(self.vectors), min(k, len(self.vectors))
        best_rows = np.zeros((len(q), k), dtype=np.int64)
        best = np.full((len(q), k), -np.inf, dtype=np.float32)
        scanned = np.zeros(len(q), dtype=np.int64)
        bounds = np.linalg.norm(q, axis=1)
        pending, start, first = np.arange(len(q)), 0, max(FIRST_BLOCK, int(n * FIRST_BLOCK_SHARE))
        while len(pending) and start < n and k:
            end = min(n, start + max(first, start))
            lo, hi = np.searchsorted(masked, (start, end)) if masked is not None else (0, 0)
            wanted = int(min(k + hi - lo, end - start))
            found, rows = faiss.knn(q[pending], self.vectors[start:end], wanted, faiss.METRIC_INNER_PRODUCT)
            rows += start
            if hi > lo:  # masked is sorted: a binary search per result (np.isin sorts both sides each time)
                inside = masked[lo:hi]
                found[inside[np.minimum(np.searchsorted(inside, rows), len(inside) - 1)] == rows] = -np.inf
            each = np.arange(len(pending))[:, None]
            merged = np.concatenate([best[pending], found], axis=1)
            merged_rows = np.concatenate([best_rows[pending], rows], axis=1)
            keep = np.argpartition(merged, merged.shape[1] - k, axis=1)[:, merged.shape[1] - k :]
            best[pending], best_rows[pending] = merged[each, keep], merged_rows[each, keep]
            scanned[pending], start = end, end
            if start < n:
                next_norm = np.sqrt(float(self.vectors[start] @ self.vectors[start]))
                pending = pending[best[pending].min(axis=1) < bounds[pending] * next_norm]
        order = np.argsort(-best, axis=1, kind="stable")
        each = np.arange(len(q))[:, None]
        return best_rows[each, order], best[each, order], scanned
