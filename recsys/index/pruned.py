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

#: Vectors a search scores before it first checks its bound; each later block doubles what it has scored.
FIRST_BLOCK = 2048
#: Scores one block may hold across the queries of a batch (64 MiB of float32): a cap on the block, not on the scan.
BLOCK_SCORES = 1 << 24


def norm_ordered_index(data: np.ndarray) -> faiss.IndexIDMap:
    """The FAISS index a ``pruned`` kind is written as: ``data``'s rows by descending norm, ids = their positions."""
    order = np.argsort(-np.linalg.norm(data, axis=1), kind="stable")
    index = faiss.IndexIDMap(faiss.IndexFlatIP(data.shape[1]))
    index.add_with_ids(data[order], order.astype(np.int64))
    return index


@dataclass(frozen=True, eq=False)
class NormOrdered:
    """A ``pruned`` index ready to search: views of the vectors and ids FAISS stores (nothing copied, so memory-mapped
    pages stay shared between processes) and the row of each id (4 bytes per vector, in each process), which lets
    excluded ids be masked by row instead of comparing every scored id with them."""

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

        All queries share each block's matrix product; a query leaves the batch once its bound is met. ``masked``:
        sorted rows scored -inf, for a batch of one query.
        """
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(len(queries), -1)
        n, k = len(self.vectors), min(k, len(self.vectors))
        best_rows = np.zeros((len(q), k), dtype=np.int64)
        best = np.full((len(q), k), -np.inf, dtype=np.float32)
        scanned = np.zeros(len(q), dtype=np.int64)
        bounds = np.linalg.norm(q, axis=1)
        pending, start = np.arange(len(q)), 0
        while len(pending) and start < n and k:
            end = min(n, start + max(FIRST_BLOCK, min(start, BLOCK_SCORES // len(pending))))
            block = np.ascontiguousarray((self.vectors[start:end] @ q[pending].T).T)  # 7x q @ V.T for one query
            if masked is not None:
                lo, hi = np.searchsorted(masked, (start, end))
                block[:, masked[lo:hi] - start] = -np.inf
            each = np.arange(len(pending))[:, None]
            if start:
                cols, scores = _above(block, best[pending].min(axis=1))
            else:
                cols = _top_k(block, k)
                scores = block[each, cols]
            if cols.shape[1]:
                merged = np.concatenate([best[pending], scores], axis=1)
                merged_rows = np.concatenate([best_rows[pending], cols + start], axis=1)
                keep = _top_k(merged, k)
                best[pending], best_rows[pending] = merged[each, keep], merged_rows[each, keep]
            scanned[pending], start = end, end
            if start < n:
                next_norm = np.sqrt(float(self.vectors[start] @ self.vectors[start]))
                pending = pending[best[pending].min(axis=1) < bounds[pending] * next_norm]
        order = np.argsort(-best, axis=1, kind="stable")
        each = np.arange(len(q))[:, None]
        return best_rows[each, order], best[each, order], scanned


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Columns of each row's k largest scores, in no order."""
    width = scores.shape[1]
    if width <= k:
        return np.broadcast_to(np.arange(width), scores.shape)
    return np.argpartition(scores, width - k, axis=1)[:, width - k :]


def _above(scores: np.ndarray, floors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns and scores of each row's scores above its floor (its k-th best so far), padded with -inf: after the
    first block they are few, so this is a comparison where a partition would read the block again."""
    hit_rows, hit_cols = np.nonzero(scores > floors[:, None])
    width = int(np.bincount(hit_rows).max()) if len(hit_rows) else 0
    slot = np.arange(len(hit_rows)) - np.searchsorted(hit_rows, hit_rows)  # place within its row
    cols = np.zeros((len(scores), width), dtype=np.int64)
    found = np.full((len(scores), width), -np.inf, dtype=np.float32)
    cols[hit_rows, slot] = hit_cols
    found[hit_rows, slot] = scores[hit_rows, hit_cols]
    return cols, found
