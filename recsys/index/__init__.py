"""FAISS indexes over item and user vectors: build, save, load, search with already-seen ids excluded."""

from recsys.index.faiss_index import Metric, build_index, load_index, save_index, search

__all__ = ["Metric", "build_index", "load_index", "save_index", "search"]
