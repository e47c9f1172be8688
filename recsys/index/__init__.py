"""FAISS indexes over item and user vectors: build, save, load, search with already-seen ids excluded."""

from recsys.index.faiss_index import (
    Index,
    Metric,
    ann_recall,
    build_index,
    choose_kind,
    kind_of,
    load_index,
    save_index,
    search,
    search_breadth,
    search_many,
    tune_search_breadth,
)

__all__ = [
    "Index",
    "Metric",
    "ann_recall",
    "build_index",
    "choose_kind",
    "kind_of",
    "load_index",
    "save_index",
    "search",
    "search_breadth",
    "search_many",
    "tune_search_breadth",
]
