"""FAISS indexes whose positions are the dense item/user indexes (int64 ids = positions), sized to the catalogue.

Inner product for ALS (user . item is the ALS score); cosine as inner product over L2-normalised vectors. Under
``index.exact_below`` vectors the index is exact (flat); above, inner-product indexes are ``pruned`` (exact search
that stops early, below) and cosine ones HNSW; IVF-PQ when memory matters more than recall. Approximate indexes are
checked against exact search at build time and search as narrowly as reaches ``index.target_recall``
(``tune_search_breadth``); the recall and breadth go into the manifest. Indexes load with their vectors
memory-mapped, so service workers share those pages; an HNSW graph (about 2 x hnsw_m x 4 bytes per vector) and
IVF-PQ codes are read into each process.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from recsys.models.base import l2_normalize
from recsys.settings import IndexSettings

log = logging.getLogger(__name__)

Metric = Literal["ip", "cosine"]


def prepare(vectors: np.ndarray, metric: Metric) -> np.ndarray:
    """The float32 rows the index stores: normalised for cosine."""
    return l2_normalize(vectors) if metric == "cosine" else np.ascontiguousarray(vectors, dtype=np.float32)


#: Vectors a pruned search scores before it first checks its bound; each later block doubles what it has scored.
FIRST_BLOCK = 4096


def choose_kind(n_vectors: int, metric: Metric, settings: IndexSettings) -> str:
    """``index.kind``, or for ``auto``: exact search under ``index.exact_below`` vectors; above, ``pruned`` for
    inner product (still exact) and HNSW for cosine, whose vectors all have one norm and so nothing to prune."""
    if settings.kind != "auto":
        return settings.kind
    if n_vectors < settings.exact_below:
        return "flat"
    return "pruned" if metric == "ip" else "hnsw"


def build_index(vectors: np.ndarray, metric: Metric, settings: IndexSettings | None = None) -> faiss.Index:
    """An inner-product index over ``vectors`` of the kind ``choose_kind`` picks."""
    settings = settings or IndexSettings()
    data = prepare(vectors, metric)
    n, dim = data.shape
    kind = choose_kind(n, metric, settings)
    if kind == "pruned":
        index = _norm_ordered(data)
    else:
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = settings.hnsw_ef_construction
            index.hnsw.efSearch = settings.hnsw_ef_search
        else:
            index = _trained_ivfpq(data, settings)
        index.add(data)
    log.info("FAISS %s index: %d vectors of %d dimensions", kind, n, dim)
    return index


def _norm_ordered(data: np.ndarray) -> faiss.IndexIDMap:
    """The ``pruned`` kind: a flat index holding the vectors by descending norm, each under its own position as id.

    Plain FAISS (written, read and memory-mapped like any flat index; its own ``search`` is exact), read by
    ``search`` here as an early-stopping scan: an item scores at most |query| x |item| (Cauchy-Schwarz), so once
    |query| x the next norm is below the k-th score found, nothing later can enter the top k. ALS item norms
    grow with popularity and are very skewed, so that point comes early (docs/models.md).
    """
    order = np.argsort(-np.linalg.norm(data, axis=1), kind="stable")
    index = faiss.IndexIDMap(faiss.IndexFlatIP(data.shape[1]))
    index.add_with_ids(data[order], order.astype(np.int64))
    return index


def _trained_ivfpq(data: np.ndarray, settings: IndexSettings) -> faiss.Index:
    n, dim = data.shape
    if dim % settings.pq_bytes:
        raise ValueError(f"index.pq_bytes={settings.pq_bytes} must divide the vector size {dim}")
    nlist = settings.ivf_nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFPQ(quantizer, dim, nlist, settings.pq_bytes, 8, faiss.METRIC_INNER_PRODUCT)
    index.nprobe = min(settings.ivf_nprobe, nlist)
    if faiss.get_num_gpus() > 0:  # faiss-gpu builds only; pip's faiss-cpu reports 0 (docs/models.md)
        trained = faiss.index_cpu_to_all_gpus(index)
        trained.train(data)
        index = faiss.index_gpu_to_cpu(trained)
    else:
        index.train(data)
    return index


def ann_recall(index: faiss.Index, vectors: np.ndarray, metric: Metric, queries: np.ndarray, k: int) -> float:
    """Share of exact search's top-k that ``index`` also returns, averaged over ``queries``."""
    q = prepare(queries, metric)
    return _recall(index, q, _exact_top_k(vectors, metric, q, k))


def _exact_top_k(vectors: np.ndarray, metric: Metric, prepared_queries: np.ndarray, k: int) -> np.ndarray:
    data = prepare(vectors, metric)
    exact = faiss.IndexFlatIP(data.shape[1])
    exact.add(data)
    return exact.search(prepared_queries, k)[1]


def _recall(index: faiss.Index, prepared_queries: np.ndarray, truth: np.ndarray) -> float:
    found = search_many(index, prepared_queries, truth.shape[1])
    hits = [len(set(t[t >= 0]) & set(f[f >= 0])) / max(1, (t >= 0).sum()) for t, f in zip(truth, found, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


def tune_search_breadth(
    index: faiss.Index, vectors: np.ndarray, metric: Metric, queries: np.ndarray, settings: IndexSettings, k: int = 10
) -> float:
    """Set an approximate index's search breadth (HNSW efSearch, IVF nprobe) to the narrowest that reaches
    ``index.target_recall`` recall@k against exact search on ``queries``; returns the recall there.

    From the configured breadth: halve while the target still holds (down to k for HNSW, 1 for IVF), since each
    halving about doubles the queries per second; or double until the target, the breadth's limit, or a plateau:
    a doubling that gains less than ``index.min_recall_gain``. At a plateau the narrower breadth is kept, since the
    wider one costs about twice the time per query for nothing (an HNSW graph some true neighbours cannot be
    reached through stays at the same recall however wide the search). The breadth is saved with the index, so
    the service searches as widely as the build measured.
    """
    q = prepare(queries, metric)
    truth = _exact_top_k(vectors, metric, q, k)
    recall = _recall(index, q, truth)
    if isinstance(index, faiss.IndexHNSW):
        params, field, floor, limit = index.hnsw, "efSearch", k, settings.hnsw_ef_search_max
    elif isinstance(index, faiss.IndexIVF):
        params, field, floor, limit = index, "nprobe", 1, index.nlist
    else:
        return recall

    def recall_at(breadth: int) -> float:
        setattr(params, field, breadth)
        return _recall(index, q, truth)

    target, breadth = settings.target_recall, getattr(params, field)
    if recall >= target:
        while breadth // 2 >= floor and (narrower := recall_at(breadth // 2)) >= target:
            breadth, recall = breadth // 2, narrower
    while recall < target and breadth < limit:
        wider = min(2 * breadth, limit)
        wider_recall = recall_at(wider)
        if wider_recall - recall < settings.min_recall_gain:
            log.info("%s %d -> %d: recall@%d %.3f -> %.3f, a plateau", field, breadth, wider, k, recall, wider_recall)
            break
        breadth, recall = wider, wider_recall
    setattr(params, field, breadth)
    log.info("%s %d: recall@%d %.3f against exact search (target %.2f)", field, breadth, k, recall, target)
    return recall


def search_breadth(index: faiss.Index) -> dict[str, int]:
    """The search breadth an approximate index will use, for the manifest."""
    if isinstance(index, faiss.IndexHNSW):
        return {"ef_search": int(index.hnsw.efSearch)}
    if isinstance(index, faiss.IndexIVF):
        return {"nprobe": int(index.nprobe)}
    return {}


def save_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_index(path: Path, mmap: bool = True) -> faiss.Index:
    """Read an index; its stored vectors stay memory-mapped (read-only), shared by every process that maps them."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)


def _search_parameters(index: faiss.Index, selector: faiss.IDSelector) -> faiss.SearchParameters:
    """Parameters carrying the selector, with the index's own search breadth (a bare SearchParameters resets it)."""
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    return faiss.SearchParameters(sel=selector)


def search(
    index: faiss.Index, query: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (ids, scores) for one query vector; ``exclude`` ids are filtered inside the search (ID selector).

    Fewer than k results come back as id -1, which are dropped.
    """
    if isinstance(index, faiss.IndexIDMap):
        return _pruned_search(index, query, k, exclude)
    params = None
    if exclude is not None and len(exclude):
        excluded = faiss.IDSelectorBatch(np.ascontiguousarray(exclude, dtype=np.int64))
        params = _search_parameters(index, faiss.IDSelectorNot(excluded))
    k = min(k, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1), k, params=params)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def search_many(index: faiss.Index, queries: np.ndarray, k: int) -> np.ndarray:
    """Top-k ids of each query row, padded with -1: one batch for FAISS's own kinds, one query at a time for
    ``pruned`` (how the service asks, and where its early stop is decided per query)."""
    if not isinstance(index, faiss.IndexIDMap):
        return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]
    found = np.full((len(queries), k), -1, dtype=np.int64)
    for row, query in enumerate(queries):
        ids, _ = _pruned_search(index, query, k, None)
        found[row, : len(ids)] = ids
    return found


def _pruned_search(
    index: faiss.IndexIDMap, query: np.ndarray, k: int, exclude: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (ids, scores) of a ``pruned`` index, read in place (nothing copied from a memory-mapped file)."""
    n, dim = index.ntotal, index.d
    vectors = faiss.rev_swig_ptr(faiss.downcast_index(index.index).get_xb(), n * dim).reshape(n, dim)
    positions = faiss.rev_swig_ptr(index.id_map.data(), n)
    ids, scores, _ = norm_bounded_top_k(vectors, positions, query, k, exclude)
    return ids, scores


def norm_bounded_top_k(
    vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact inner-product top-k (ids, scores) over ``vectors`` sorted by descending norm, and how many were
    scored: blocks in order (FIRST_BLOCK, then doubling) until |query| x the next norm is below the k-th score."""
    q = np.ascontiguousarray(query, dtype=np.float32).ravel()
    q_norm = float(np.linalg.norm(q))
    excluded = np.asarray(exclude, dtype=np.int64) if exclude is not None and len(exclude) else None
    n = len(vectors)
    scores, scanned = np.empty(0, dtype=np.float32), 0
    while scanned < n:
        end = min(n, max(FIRST_BLOCK, 2 * scanned))
        block = vectors[scanned:end] @ q
        if excluded is not None:
            block[np.isin(ids[scanned:end], excluded)] = -np.inf
        scores, scanned = np.concatenate([scores, block]), end
        if scanned < n and len(scores) >= k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            if q_norm * float(np.linalg.norm(vectors[scanned])) <= kth:
                break
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k else np.empty(0, dtype=np.int64)
    top = top[np.argsort(-scores[top], kind="stable")]
    top = top[np.isfinite(scores[top])]
    return ids[top].copy(), scores[top], scanned
