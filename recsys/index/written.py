"""One index as a bundle holds it: built for its vectors' size and metric, checked against exact search, saved, and
described for the manifest (kind, size, the recall it reached). The playlist build and the image job share it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsys.index.faiss_index import Metric, build_index, kind_of, save_index, search_breadth, tune_search_breadth
from recsys.settings import IndexSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Indexed:
    """Vectors a model is searched through, as the build indexes them: ``queries`` are what the service searches
    with (the index's recall is measured on a sample of them); ``saved_as``, where the service reads the vectors
    themselves too (a bundle path), if it does."""

    vectors: np.ndarray
    metric: Metric
    queries: np.ndarray
    saved_as: str | None = None


def write_index(
    path: Path, vectors: np.ndarray, metric: Metric, queries: np.ndarray, s: IndexSettings
) -> dict[str, Any]:
    """Build and save one index; any but flat is checked against exact search on a sample of ``queries`` (an
    approximate one first sets its search breadth to the target recall), and records the recall it reached."""
    index = build_index(vectors, metric, s, queries)
    entry: dict[str, Any] = {"kind": kind_of(index), "vectors": len(vectors), "metric": metric}
    if entry["kind"] != "flat":
        sample = np.random.default_rng(0).choice(len(queries), min(len(queries), s.recall_queries), replace=False)
        entry["recall@10"] = tune_search_breadth(index, vectors, metric, queries[sample], s)
        entry |= search_breadth(index)
        log.info("%s: recall@10 against exact search on %d sampled queries: %s", path, len(sample), entry)
        if entry["recall@10"] < s.target_recall:
            log.warning(
                "%s: recall@10 %.3f is below index.target_recall %.2f: a wider search stopped paying or is not allowed",
                path,
                entry["recall@10"],
                s.target_recall,
            )
    save_index(index, path)
    return entry
