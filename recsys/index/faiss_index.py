"""FAISS indexes whose positions are the dense item/user indexes (int64 ids = positions), sized to the catalogue.

Inner product for ALS (user . item is the ALS score); cosine as inner product over L2-normalised vectors. Under
``index.exact_below`` vectors the index is exact (flat); above, inner-product indexes are ``pruned`` (exact search
that stops early, recsys/index/pruned.py) and cosine ones HNSW; IVF-PQ when memory matters more than recall.
Approximate indexes are checked against exact search at build time and search as narrowly as reaches
``index.target_recall`` (``tune_search_breadth``); the recall and breadth go into the manifest. Indexes load with
their vectors memory-mapped, so service workers share those pages; an HNSW graph (about 2 x hnsw_m x 4 bytes per
vector) and IVF-PQ codes are read into each process, and so is a ``pruned`` index's row of each id (4 bytes).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from recsys.index.pruned import NormOrdered, norm_ordered_index
from recsys.progress import Progress
from recsys.settings import IndexSettings
from recsys.vectors import l2_normalize

log = logging.getLogger(__name__)

Metric = Literal["ip", "cosine"]
#: What ``build_index`` and ``load_index`` give: FAISS's own index, or a ``pruned`` one wrapped for its search.
Index = faiss.Index | NormOrdered


def prepare(vectors: np.ndarray, metric: Metric) -> np.ndarray:
    """The float32 rows the index stores: normalised for cosine."""
    return l2_normalize(vectors) if metric == "cosine" else np.ascontiguousarray(vectors, dtype=np.float32)


def choose_kind(n_vectors: int, metric: Metric, settings: IndexSettings) -> str:
    """``index.kind``, or for ``auto``: exact search under ``index.exact_below`` vectors; above, ``pruned`` for
    inner product (still exact) and HNSW for cosine, whose vectors all have one norm and so nothing to prune."""
    if settings.kind != "auto":
        return settings.kind
    if n_vectors < settings.exact_below:
        return "flat"
    return "pruned" if metric == "ip" else "hnsw"


#: A ``pruned`` index that scores more than this share of its vectors per query saves nothing over scoring them
#: all: its norms are too even (item2vec's output vectors on an MPD-shaped log: 1st to 99th percentile within
#: 0.6x to 1.1x of the median, and every query scanned everything), so ``auto`` builds HNSW for it instead.
PRUNED_MAX_SCAN = 0.5
#: Sample queries that decide whether pruning pays.
PRUNE_PROBES = 64
#: Vectors added to an index at a time (a progress line between chunks; FAISS parallelises within one).
ADD_CHUNK = 100_000


def build_index(
    vectors: np.ndarray, metric: Metric, settings: IndexSettings | None = None, queries: np.ndarray | None = None
) -> Index:
    """An inner-product index over ``vectors`` of the kind ``choose_kind`` picks; for ``pruned`` under ``auto``,
    HNSW where a sample of ``queries`` shows the norms too even to prune (``kind_of`` tells which was built)."""
    settings = settings or IndexSettings()
    data = prepare(vectors, metric)
    n, dim = data.shape
    kind = choose_kind(n, metric, settings)
    if kind == "pruned":
        index = NormOrdered.of(norm_ordered_index(data))
        if settings.kind == "pruned" or queries is None or _prunes(index, queries):
            log.info("FAISS pruned index: %d vectors of %d dimensions", n, dim)
            return index
        kind = "hnsw"
    if kind == "hnsw" and metric == "ip":
        data = equal_norms(data)
        dim += 1
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        index.hnsw.efSearch = settings.hnsw_ef_search
    else:
        index = _trained_ivfpq(data, settings)
    progress = Progress(f"FAISS {kind} index", n, "vectors")
    for start in range(0, n, ADD_CHUNK):  # in chunks, so that building a large HNSW graph reports progress
        index.add(data[start : start + ADD_CHUNK])
        progress.advance(min(ADD_CHUNK, n - start))
    log.info("FAISS %s index: %d vectors of %d dimensions", kind, n, dim)
    return index


def equal_norms(data: np.ndarray) -> np.ndarray:
    """``data`` with one more column, sqrt(max norm^2 - norm^2), so that every row has the largest norm: a query
    with a 0 there scores each row exactly as before, and largest inner product becomes nearest neighbour, which
    HNSW finds well (Bachrach et al., RecSys 2014). On item2vec's output vectors searched raw, HNSW's recall@10
    stopped at 0.89 however wide the search (10% of the MPD)."""
    norms = np.einsum("ij,ij->i", data, data)
    extra = np.sqrt(np.maximum(norms.max() - norms, 0.0)).astype(np.float32)
    return np.ascontiguousarray(np.hstack([data, extra[:, None]]))


def _queries_for(index: faiss.Index, queries: np.ndarray) -> np.ndarray:
    """Query rows as ``index`` takes them: with the 0 column ``equal_norms`` expects, where it added one."""
    q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, queries.shape[-1])
    if q.shape[1] == index.d - 1:
        q = np.ascontiguousarray(np.hstack([q, np.zeros((len(q), 1), dtype=np.float32)]))
    return q


def _prunes(index: NormOrdered, queries: np.ndarray) -> bool:
    """Whether a sample of ``queries`` scans at most PRUNED_MAX_SCAN of the index on average."""
    sample = np.random.default_rng(0).choice(len(queries), min(len(queries), PRUNE_PROBES), replace=False)
    scanned = index.scan(np.ascontiguousarray(queries[sample], dtype=np.float32), 10)[2]
    share = float(scanned.mean()) / max(index.ntotal, 1)
    if share > PRUNED_MAX_SCAN:
        log.info(
            "pruning scanned %.0f%% of %d vectors per query: too even in norm, building HNSW", 100 * share, index.ntotal
        )
    return share <= PRUNED_MAX_SCAN


def kind_of(index: Index) -> str:
    """The kind of a built index, as ``index.kind`` names it."""
    if isinstance(index, NormOrdered):
        return "pruned"
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivfpq"
    return "flat"


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


def ann_recall(index: Index, vectors: np.ndarray, metric: Metric, queries: np.ndarray, k: int) -> float:
    """Share of exact search's top-k that ``index`` also returns, averaged over ``queries``."""
    q = prepare(queries, metric)
    return _recall(index, q, _exact_top_k(vectors, metric, q, k))


def _exact_top_k(vectors: np.ndarray, metric: Metric, prepared_queries: np.ndarray, k: int) -> np.ndarray:
    data = prepare(vectors, metric)
    exact = faiss.IndexFlatIP(data.shape[1])
    exact.add(data)
    return exact.search(prepared_queries, k)[1]


def _recall(index: Index, prepared_queries: np.ndarray, truth: np.ndarray) -> float:
    found = search_many(index, prepared_queries, truth.shape[1])
    hits = [len(set(t[t >= 0]) & set(f[f >= 0])) / max(1, (t >= 0).sum()) for t, f in zip(truth, found, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


def tune_search_breadth(
    index: Index, vectors: np.ndarray, metric: Metric, queries: np.ndarray, settings: IndexSettings, k: int = 10
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


def search_breadth(index: Index) -> dict[str, int]:
    """The search breadth an approximate index will use, for the manifest."""
    if isinstance(index, faiss.IndexHNSW):
        return {"ef_search": int(index.hnsw.efSearch)}
    if isinstance(index, faiss.IndexIVF):
        return {"nprobe": int(index.nprobe)}
    return {}


def save_index(index: Index, path: Path) -> None:
    faiss.write_index(index.index if isinstance(index, NormOrdered) else index, str(path))


def load_index(path: Path, mmap: bool = True) -> Index:
    """Read an index; its stored vectors stay memory-mapped (read-only), shared by every process that maps them.
    Only the ``pruned`` kind is written as an ``IndexIDMap``."""
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
    return NormOrdered.of(index) if isinstance(index, faiss.IndexIDMap) else index


def _search_parameters(index: faiss.Index, selector: faiss.IDSelector) -> faiss.SearchParameters:
    """Parameters carrying the selector, with the index's own search breadth (a bare SearchParameters resets it)."""
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    return faiss.SearchParameters(sel=selector)


def search(index: Index, query: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (ids, scores) for one query vector; ``exclude`` ids are filtered inside the search (ID selector).

    Fewer than k results come back as id -1, which are dropped.
    """
    if isinstance(index, NormOrdered):
        return index.search(query, k, exclude)
    params = None
    if exclude is not None and len(exclude):
        excluded = faiss.IDSelectorBatch(np.ascontiguousarray(exclude, dtype=np.int64))
        params = _search_parameters(index, faiss.IDSelectorNot(excluded))
    k = min(k, index.ntotal)
    scores, ids = index.search(_queries_for(index, np.reshape(query, (1, -1))), k, params=params)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def search_many(index: Index, queries: np.ndarray, k: int) -> np.ndarray:
    """Top-k ids of each query row, best first, padded with -1: one batch."""
    if isinstance(index, NormOrdered):
        return index.search_many(queries, k)
    return index.search(_queries_for(index, queries), k)[1]
