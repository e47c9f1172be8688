"""A published bundle loaded for serving: id maps, metadata, vectors, FAISS indexes and seen items.

Loaded once at start-up (live once its checksums verify); read-only afterwards, so requests share it freely.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any, cast

import numpy as np
import polars as pl
import pyarrow as pa
import scipy.sparse as sp

from recsys import artifacts, layout
from recsys import schemas as S
from recsys.bundle.default import DefaultModel, recorded
from recsys.bundle.search import LazySearch, SearchIndex
from recsys.continuation import Titles, continue_playlists, seeded_history
from recsys.index import Index, load_index, search
from recsys.layout import Tables
from recsys.matrices import read_user_items, recent_items
from recsys.models import ALS, Blend, CoOccurrence, History, Item2Vec, Recommender, SequentialRules
from recsys.models.base import Inputs, top_k
from recsys.models.blend import fuse
from recsys.models.confidence import Collection
from recsys.models.ranker import Ranker, UserQuery
from recsys.models.searched import Searched
from recsys.models.title import TitleModel
from recsys.registry import load_all, names
from recsys.settings import BlendSettings, Settings
from recsys.vectors import l2_normalize

#: The families that read a bare sequence of items (GET /next): the next song from its latest items, and what stood
#: beside them (a bundle built before the sequential rules existed has the other two).
SESSION_MODELS = (Item2Vec.name, SequentialRules.name, CoOccurrence.name)

#: Answers with fewer metadata cells (items x columns) than this read them one cell at a time. In the service's
#: request loop pyarrow's take costs ~50 us before its first row and a cell ~0.8 us: in-process, with two
#: columns, /recommend at k = 10 took 265 against 306 us (medians of six interleaved runs); cell by cell is
#: level with take at k = 50 and slower at k = 100 (629 against 524 us).
CELL_READS_BELOW = 64

log = logging.getLogger(__name__)

#: Threads a bundle loads on. Its heavy parts (Parquet decoding, scipy's sparse kernels, numpy, sha256, FAISS
#: reads) release the GIL, so on 2 cores these keep both busy while one of them waits on the disk.
LOAD_THREADS = 4


#: Longest id an error message quotes whole; a longer one is cut, with its length said.
QUOTED_ID_CHARS = 80


def quoted_id(value: str) -> str:
    """An id as an error message shows it: whole up to QUOTED_ID_CHARS, else its start and its length."""
    if len(value) <= QUOTED_ID_CHARS:
        return repr(value)
    return f"{value[:QUOTED_ID_CHARS]!r}... ({len(value):,} characters)"


class NotInBundle(LookupError):
    """A registered model this bundle does not hold (EASE over ``ease.max_items``): a 422 naming ``model``."""

    def __init__(self, model: str, served: list[str]) -> None:
        super().__init__(f"this bundle serves no {model} model; it serves {', '.join(served)} (GET /models)")


class NoTitles(ValueError):
    """A request named its playlist, but the bundle was built from an input without names: no title model."""


class UnknownId(LookupError):
    """A user or item id that is not in the bundle; ``parameter`` names the query parameter."""

    def __init__(self, parameter: str, value: str) -> None:
        super().__init__(f"unknown {parameter} {quoted_id(value)}")
        self.parameter = parameter
        self.value = value


def _about(manifest: dict[str, Any]) -> dict[str, Any]:
    """What GET /bundle says of how the bundle was made (the manifest, less its file list and settings). The
    input files go by their base names: where they sit on the build's machine is the operator's business."""
    source = {
        key: value if key == "format" else PurePath(value).name
        for key, value in manifest["input"].items()
        if value is not None and key != "fingerprint"
    }
    return {
        "created": manifest.get("created"),
        "input": source,
        "counts": manifest["counts"],
        "models_fitted_on": manifest.get("models_fitted_on"),
    }


def _read_parquet_folder(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(folder / "*.parquet")


@dataclass(frozen=True)
class LoadedBundle:
    folder: Path
    version: str
    user_ids: list[str]
    user_index: dict[str, int]
    item_ids: list[str]  # item_idx order
    metadata: pa.Table  # item_idx order; the catalogue's columns other than item_id (title, artist, ...), if any
    item_index: dict[str, int]
    item2vec_user_vectors: np.ndarray  # L2-normalised: the cosine indexes' queries
    item2vec_item_vectors: np.ndarray  # L2-normalised
    indexes: dict[str, Index]  # by bundle path (layout.INDEX_*): every index the manifest lists
    history: History  # every user's held items (the seen filter) and latest items, as the models were fitted on
    als: ALS  # known users' factors, and folding in new users
    collection: Collection  # the training matrix's statistics: BM25 weights for fold-in, holders for the fallback
    popular: np.ndarray  # item indexes, most-held first: the fallback for users the bundle does not know
    models: dict[str, Recommender]  # what model= names: every family the bundle holds (ALS and item2vec by index
    # search, recsys/models/searched.py), then their blend
    session_blend: Blend  # item2vec, the sequential rules, co-occurrence: what a bare sequence of items is scored by
    title: TitleModel | None  # names to tracks, where the input named its playlists
    blend_settings: BlendSettings  # how a title's list joins a model's (weights, depth, rank offset)
    evaluation: dict[str, Any] | None  # the build's evaluation ({"split", "models": metrics}), where one ran
    default_model: DefaultModel  # what a request naming no model gets: its evaluation's best served model, or the
    # model serving.default_model names (set by the service when it loads the bundle: serving/app.py)
    about: dict[str, Any]  # how it was made: built when, from what input, its counts (GET /bundle)
    user_names: pa.Array | None  # user_idx order: each playlist's name, where the input named them
    user_search: LazySearch  # ids and playlist names, as a person types them (GET /search)
    item_search: LazySearch  # ids and the words of every text metadata column

    @classmethod
    def load(cls, folder: Path) -> LoadedBundle:
        """The bundle in ``folder``, returned (and so live) only once every file matches its checksum. A missing
        or truncated file stops it before anything is read; the checksums are computed beside the reading, on
        LOAD_THREADS threads, instead of first: at MPD size hashing 6.3 GB took 4.5 s from the page cache and
        17 s from disk."""
        artifacts.verify(folder, checksums=False)
        with ThreadPoolExecutor(LOAD_THREADS) as pool:
            checked = pool.submit(artifacts.verify, folder)
            try:
                bundle = cls._read(folder, pool)
            except Exception:
                checked.result()  # a file that does not match its checksum explains a failed read best
                raise
            checked.result()
        log.info("loaded bundle %s: %d users, %d items", folder, len(bundle.user_ids), len(bundle.item_ids))
        return bundle

    @classmethod
    def _read(cls, folder: Path, pool: Executor) -> LoadedBundle:
        """Every file read, the independent ones side by side on ``pool``."""
        manifest = artifacts.load_manifest(folder)
        users = _read_parquet_folder(folder / layout.USERS).sort(S.USER_IDX)
        items = _read_parquet_folder(folder / layout.ITEMS).sort(S.ITEM_IDX)
        user_ids = users[S.USER_ID].to_list()
        item_ids = items[S.ITEM_ID].to_list()
        settings = Settings(**manifest["config"])  # the settings the bundle was built with
        # the history first: every model's load waits on it
        read_seen = pool.submit(read_user_items, str(folder / layout.RATINGS), len(user_ids), len(item_ids))
        indexes = {path: pool.submit(load_index, folder / path) for path in manifest["indexes"]}
        user_vectors = pool.submit(lambda: l2_normalize(np.load(folder / layout.ITEM2VEC_USER_VECTORS)))
        sequences = S.read_sequences(str(folder / layout.SEQUENCES))
        seen = read_seen.result()
        history = History(seen, recent_items(sequences, len(user_ids), settings.item2vec.context_items))
        inputs = Inputs(Tables.of(folder, len(user_ids), len(item_ids)), history, sequences=sequences)
        loaded_indexes = {path: index.result() for path, index in indexes.items()}
        loaded, served = load_all(folder, inputs, settings, loaded_indexes, pool.map)
        item2vec = cast(Item2Vec, loaded[Item2Vec.name])
        collection = Collection.of(seen)
        held = np.diff(seen.indptr)  # items per user: who is better known ranks first in a search
        models = {name: served[name] for name in names() if name in served}
        e = settings.evaluation
        return cls(
            folder=folder,
            version=manifest["version"],
            user_ids=user_ids,
            user_index={uid: i for i, uid in enumerate(user_ids)},
            item_ids=item_ids,
            metadata=items.drop(S.ITEM_IDX, S.ITEM_ID).to_arrow().combine_chunks(),  # a cell read finds its chunk
            item_index={iid: i for i, iid in enumerate(item_ids)},
            item2vec_user_vectors=user_vectors.result(),
            item2vec_item_vectors=item2vec.unit_vectors,
            indexes=loaded_indexes,
            history=history,
            als=cast(ALS, loaded[ALS.name]),
            collection=collection,
            popular=np.argsort(-collection.holders, kind="stable"),
            models=models,
            session_blend=Blend.of(
                [served[name] for name in SESSION_MODELS if name in served],
                settings.blend.model_copy(update={SequentialRules.name: settings.sequential.next_weight}),
            ),
            title=loaded.get(TitleModel.name),
            blend_settings=settings.blend,
            evaluation=manifest["evaluation"] and {"split": e.split, "models": manifest["evaluation"]},
            default_model=recorded(manifest, list(models), f"recall@{e.k}", e.split),
            about=_about(manifest),
            user_names=users[S.NAME].to_arrow() if S.NAME in users.columns else None,
            user_search=LazySearch(
                lambda: SearchIndex.of(user_ids, users.select(S.NAME) if S.NAME in users.columns else None, held)
            ),
            item_search=LazySearch(lambda: SearchIndex.of(item_ids, items, collection.holders)),
        )

    def rows(self) -> dict[str, int]:
        """Its size, as /metrics reports it."""
        return {"users": len(self.user_ids), "items": len(self.item_ids)}

    def named_indexes(self) -> dict[str, Index]:
        """The FAISS indexes, named by their file in the bundle's indexes/ folder (items_als, ...)."""
        return {PurePath(path).stem: index for path, index in self.indexes.items()}

    def user(self, user_id: str) -> int:
        try:
            return self.user_index[user_id]
        except KeyError:
            raise UnknownId("user", user_id) from None

    def item(self, item_id: str, parameter: str = "item") -> int:
        try:
            return self.item_index[item_id]
        except KeyError:
            raise UnknownId(parameter, item_id) from None

    def describe_items(self, ids: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
        """Items with their score and every metadata column (item_id as item)."""
        positions = ids.tolist()
        rows = self._metadata_rows(positions)
        return [
            {"item": self.item_ids[i], "score": score, **row}
            for i, score, row in zip(positions, np.asarray(scores, dtype=np.float64).tolist(), rows, strict=True)
        ]

    def _metadata_rows(self, positions: list[int]) -> list[dict[str, Any]]:
        """Every metadata column of the items at ``positions``, from pyarrow (no Python objects per catalogue
        row): cell by cell for a short answer, else one take (a third of polars's row gather for ten rows)."""
        names = self.metadata.column_names
        if not names:
            return [{}] * len(positions)
        if len(positions) * len(names) < CELL_READS_BELOW:
            columns = list(zip(names, self.metadata.columns, strict=True))
            return [{name: column[i].as_py() for name, column in columns} for i in positions]
        return self.metadata.take(positions).to_pylist()

    def recommend(self, user_id: str, k: int, model: str = "als", exclude_seen: bool = True) -> list[dict[str, Any]]:
        """Items the user does not hold yet (any item with ``exclude_seen`` off), best first.

        ALS: the user's factors searched in FAISS, held items filtered inside the search. item2vec: the user's
        latest items' mean input vector searched among the output vectors (recsys/models/searched.py). blend: each
        model's list for the user fused, as in the evaluation.
        """
        u = self.user(user_id)
        if model not in self.models:
            raise NotInBundle(model, list(self.models))
        history = self.history if exclude_seen else replace(self.history, exclude_seen=False)
        return self.describe_items(*_first_row(self.models[model].recommend(np.array([u]), history, k)))

    def held_items(self, user_id: str, k: int) -> tuple[int, list[dict[str, Any]]]:
        """How many items the user holds, and the first ``k`` of them: its latest first (the order the next-song
        models read), then the rest, most repeated first; each scored by how often the user holds it."""
        u = self.user(user_id)
        row = self.history.user_items[u]
        counts = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        latest = [int(i) for i in self.history.recent[u][::-1] if i >= 0]
        rest = sorted(set(counts) - set(latest), key=lambda i: (-counts[i], i))
        chosen = list(dict.fromkeys(latest + rest))[:k]
        return len(counts), self.describe_items(np.array(chosen, np.int64), np.array([counts[i] for i in chosen]))

    def item_details(self, item_ids: list[str]) -> list[dict[str, Any]]:
        """Each item's metadata, scored by how many users hold it; an unknown id is a 404 naming ``items``."""
        indices = self._indices(item_ids)
        return self.describe_items(indices, self.collection.holders[indices])

    def find_users(self, query: str, k: int) -> list[dict[str, Any]]:
        """Users whose id starts with ``query`` or whose playlist name has words starting with its words, those
        holding the most first: each with its name (where the input named playlists) and how many items it holds."""
        found = self.user_search.find(query, k)
        indptr = self.history.user_items.indptr
        held = (indptr[found + 1] - indptr[found]).tolist()  # the found rows only: this runs at every keystroke
        names = [None] * len(found) if self.user_names is None else self.user_names.take(found).to_pylist()
        return [
            {"user": self.user_ids[u], "name": name, "items": n}
            for u, name, n in zip(found.tolist(), names, held, strict=True)
        ]

    def find_items(self, query: str, k: int) -> list[dict[str, Any]]:
        """Items whose id starts with ``query`` or whose metadata has words starting with its words, the most held
        first (scored by holders)."""
        found = self.item_search.find(query, k)
        return self.describe_items(found, self.collection.holders[found])

    def popular_items(self, k: int) -> list[dict[str, Any]]:
        """The most-held items, scored by how many users hold them."""
        ids = self.popular[:k]
        return self.describe_items(ids, self.collection.holders[ids])

    def new_user(
        self, item_ids: list[str], k: int, model: str = "als", name: str | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """A user the bundle does not know, from the items it holds (oldest first) and its playlist's name, the
        given items excluded: (the model that ranked, the items). What a trained user with the same items gets,
        without retraining.

        Any model the bundle serves answers (``for_new_users``): ALS solves the user's factors against the item
        factors (fold-in), then searches FAISS as for a known user; item2vec gives the next song after the latest of
        the items; the blend and the ranker read their members' lists for the items. A name alone is answered by the
        title model; a name with items fuses the title model's list with the model's (ranks, weighted by
        blend.title against 1), as the blend fuses its members.
        """
        if name is not None and self.title is None:
            raise NoTitles("this bundle knows no playlist names (its input had none): send items instead of a name")
        users, session = self._session(self._indices(item_ids))
        held = session.user_items
        if not held.nnz:
            return "title", self.describe_items(*self._title_ids(name or "", k, held))
        depth = k if name is None else max(k, self.blend_settings.depth)
        ids, scores = _first_row(self.for_new_users(model, held).recommend(users, session, depth))
        if name is None:
            return model, self.describe_items(ids, scores)
        return f"{model}+title", self._fused_with_title(name, ids, k, depth, held)

    def for_new_users(self, model: str, held: sp.csr_matrix) -> Recommender:
        """``model`` as it answers a user the bundle does not hold, from the items it ``held`` (one row of counts):
        ALS from factors folded in from them, once (for its list and the trees' ALS feature alike); the blend and
        the ranker over members that read them so; the others read the user's row as any other."""
        if model not in self.models:
            raise NotInBundle(model, list(self.models))
        if model not in (ALS.name, Blend.name, Ranker.name):
            return self.models[model]
        factors = self.als.fold_in(held, self.collection)

        def folded(_users: np.ndarray, _rows: History) -> np.ndarray:
            return factors

        if model == ALS.name:
            return Searched(ALS.name, self.indexes[layout.INDEX_ITEMS_ALS], folded, self.als)
        blend = Blend.of(self.playlist_members(folded), self.blend_settings)
        if model == Blend.name:
            return blend
        ranker = cast(Ranker, self.models[Ranker.name])
        return Ranker(ranker.features.for_new_users(blend, folded), ranker.booster)

    def _title_ids(self, name: str, depth: int, held: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """The title model's best ``depth`` items for ``name``, the ``held`` items masked as top_k masks them:
        sparse, so a request costs the name's evidence, not a dense row over the catalogue."""
        return _first_row(self.title.top([name], held, depth))  # type: ignore[union-attr]  # checked

    def _fused_with_title(
        self, name: str, ids: np.ndarray, k: int, depth: int, held: sp.csr_matrix
    ) -> list[dict[str, Any]]:
        """A model's ranked ``ids`` (``depth`` at most) fused with the title model's list for ``name``, the
        ``held`` items never returned."""
        title_ids = self._title_ids(name, depth, held)[0]
        lists = [np.full((1, depth), -1, np.int64) for _ in range(2)]
        lists[0][0, : len(ids)], lists[1][0, : len(title_ids)] = ids, title_ids
        fused = fuse(lists, [1.0, self.blend_settings.title], len(self.item_ids), self.blend_settings.rank_offset)
        return self.describe_items(*_first_row(top_k(fused, held, k)))

    def _indices(self, item_ids: list[str]) -> np.ndarray:
        """Item indexes in the given order; an unknown id is a 404 naming the ``items`` parameter."""
        return np.array([self.item(i, parameter="items") for i in item_ids], dtype=np.int64)

    def _session(self, sequence: np.ndarray) -> tuple[np.ndarray, History]:
        """A sequence of item indexes as the one-user batch the models take: its counts (an item listed twice
        counts twice) and its latest items."""
        return np.array([0]), seeded_history([sequence], len(self.item_ids), self.history.recent.shape[1])

    def continue_playlists(self, sequences: list[np.ndarray], names: list[str | None], k: int) -> np.ndarray:
        """k item indexes for each playlist the bundle does not hold, from its items (indexes, oldest first) and
        its name (None: none), best first, none of its items, padded with popular ones (recsys/continuation.py):
        what a RecSys Challenge submission lists."""
        history = seeded_history(sequences, len(self.item_ids), self.history.recent.shape[1])
        titles = Titles(self.title, names) if self.title is not None else None
        members = self.playlist_members()
        users = np.arange(len(sequences))
        return continue_playlists(members, titles, self.blend_settings, users, history, self.popular, k)

    def playlist_members(self, factors: UserQuery | None = None) -> list[Recommender]:
        """The blend's members for playlists the bundle does not hold (rows of another history), in its order: ALS
        searches its index with ``factors`` (by default, each row folded in from its items); the others read the
        history they are given."""
        folded = Searched(ALS.name, self.indexes[layout.INDEX_ITEMS_ALS], factors or self._folded_factors, self.als)
        blend = cast(Blend, self.models[Blend.name])
        return [folded if model.name == ALS.name else model for model in blend.models]

    def _folded_factors(self, _: np.ndarray, rows: History) -> np.ndarray:
        """ALS factors for rows of a history the bundle does not hold, solved from their items (fold-in)."""
        return self.als.fold_in(rows.user_items, self.collection)

    def next_items(self, item_ids: list[str], k: int) -> list[dict[str, Any]]:
        """The next song after a sequence of known items (a session, no user): the session blend's fusion."""
        ranked = self.session_blend.recommend(*self._session(self._indices(item_ids)), k)
        return self.describe_items(*_first_row(ranked))

    def similar_items(self, item_id: str, k: int) -> list[dict[str, Any]]:
        """item2vec cosine neighbours, the item itself excluded."""
        i = self.item(item_id)
        ids, scores = search(
            self.indexes[layout.INDEX_ITEMS_ITEM2VEC], self.item2vec_item_vectors[i], k, exclude=np.array([i])
        )
        return self.describe_items(ids, scores)

    def similar_users(self, user_id: str, k: int) -> list[dict[str, Any]]:
        """Users whose mean item2vec vector is closest by cosine, the user excluded."""
        u = self.user(user_id)
        ids, scores = search(
            self.indexes[layout.INDEX_USERS_ITEM2VEC], self.item2vec_user_vectors[u], k, exclude=np.array([u])
        )
        return [{"user": self.user_ids[j], "score": float(s)} for j, s in zip(ids, scores, strict=True)]


def _first_row(ranked: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One user's (ids, scores) from a batch answer, padding (-1) dropped."""
    ids, scores = ranked[0][0], ranked[1][0]
    keep = ids >= 0
    return ids[keep], scores[keep]
