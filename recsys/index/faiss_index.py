"""Exact FAISS indexes whose positions are the dense item/user indexes (int64 ids = positions).

Inner product for ALS (user . item is the ALS score); cosine as inner product over L2-normalised vectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from recsys.models.base import l2_normalize

Metric = Literal["ip", "cosine"]


def build_index(vectors: np.ndarray, metric: Metric) -> faiss.Index:
    """A flat (exact) inner-product index; ``cosine`` normalises the vectors first."""
    data = l2_normalize(vectors) if metric == "cosine" else np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(data.shape[1])
    index.add(data)
    return index


def save_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_index(path: Path) -> faiss.Index:
    return faiss.read_index(str(path))


def search(
    index: faiss.Index, query: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (ids, scores) for one query vector; ``exclude`` ids are filtered inside the search (ID selector).

    Fewer than k results come back as id -1, which are dropped.
    """
    params = None
    if exclude is not None and len(exclude):
        excluded = faiss.IDSelectorBatch(np.ascontiguousarray(exclude, dtype=np.int64))
        params = faiss.SearchParameters(sel=faiss.IDSelectorNot(excluded))
    k = min(k, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1), k, params=params)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]
