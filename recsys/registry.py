"""The registered models, in one list: what the build trains and saves, the bundle's reader loads and the service
serves, the contract test checks and bench/tune.py tunes. Each is registered after the models it is built from.

Adding a model is one module implementing ``Registered`` (recsys/models/base.py: train, save, load, each with its
own settings section) and one line here. A family (one that ranks items for a user) is then served by name,
listed by GET /models and scored by the evaluation; the blend fuses it wherever ``blend`` has a weight named after
it, and the ranker (the second stage, where ``ranker.enabled``) re-ranks its candidates. A model the service
searches in FAISS says so with two methods: ``indexed(inputs)``, the vectors the build indexes, and
``served(indexes)``, itself as the service answers with it (ALS, item2vec).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from recsys.index import Index
from recsys.index.written import Indexed
from recsys.layout import RankerSplit, Tables
from recsys.matrices import read_history, read_holdout
from recsys.models.als import ALS
from recsys.models.base import Family, History, Inputs, Recommender, Registered
from recsys.models.blend import Blend
from recsys.models.confidence import Collection
from recsys.models.cooccurrence import CoOccurrence
from recsys.models.ease import EASE
from recsys.models.item2vec import Item2Vec
from recsys.models.popularity import Popularity
from recsys.models.ranker import Features, Ranker, TooFewLabels, train_ranker
from recsys.models.sequential import SequentialRules
from recsys.models.title import TitleModel
from recsys.models.user_knn import UserKNN
from recsys.settings import Settings
from recsys.stages import stage

log = logging.getLogger(__name__)

#: Every family, baselines first: the order of the evaluation report and of GET /models.
FAMILIES: tuple[type[Family], ...] = (Popularity, CoOccurrence, SequentialRules, Item2Vec, ALS, EASE, UserKNN)
#: What is built from the families, each after what it reads: their blend, the trees re-ranking the blend's
#: candidates, and the title model (a playlist's name to tracks; the service fuses its list with any model's).
BUILT_ON_FAMILIES: tuple[type[Registered], ...] = (Blend, Ranker, TitleModel)


def registered() -> tuple[type[Registered], ...]:
    """Every registered model, each after those it is built from (read when asked, so a family registered later
    is in it too: tests/test_registry.py)."""
    return (*FAMILIES, *BUILT_ON_FAMILIES)


def names() -> tuple[str, ...]:
    """What ``model=`` may name: every registered model that ranks items for a user (all but the title model,
    which ranks them for a name)."""
    return tuple(model.name for model in registered() if hasattr(model, "recommend"))


def section(model: type[Registered], settings: Settings) -> Any:
    """A model's own settings: the section named after it (``settings.als`` for ALS), None where there is none."""
    return getattr(settings, model.name, None)


def train_all(inputs: Inputs, settings: Settings) -> dict[str, Any]:
    """Every registered model trained on ``inputs``, in order, each seeing those before it (a model that leaves
    itself out, or lacks what it needs, is absent)."""
    models: dict[str, Any] = {}
    for registered_model in registered():
        with stage(registered_model.name):
            model = registered_model.train(replace(inputs, models=models), section(registered_model, settings))
        if model is not None:
            models[registered_model.name] = model
    return models


def save_all(models: Mapping[str, Any], folder: Path) -> None:
    """Every trained model's files into the bundle ``folder`` (the blend's are its settings, in the manifest)."""
    for registered_model in registered():
        if registered_model.name in models:
            models[registered_model.name].save(folder)


def indexed_all(models: Mapping[str, Any], inputs: Inputs) -> dict[str, Indexed]:
    """The vectors of every index the service searches the ``models`` in (by bundle path), from ``inputs``: the
    whole log's tables and history."""
    indexes: dict[str, Indexed] = {}
    for model in models.values():
        if hasattr(model, "indexed"):
            indexes |= model.indexed(inputs)
    return indexes


def load_all(
    folder: Path,
    inputs: Inputs,
    settings: Settings,
    indexes: Mapping[str, Index],
    mapper: Callable[..., Iterable[Any]] = map,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every registered model the bundle in ``folder`` holds, by name: as loaded, and as served (a family the build
    indexed searched in its ``indexes``; the models built on the families read them as served). ``mapper`` runs
    the families' loads: the service passes its thread pool's map, since each reads its own files and only reads
    ``inputs``."""
    loads = mapper(lambda family: family.load(folder, inputs, section(family, settings)), FAMILIES)
    loaded = {family.name: model for family, model in zip(FAMILIES, loads, strict=True) if model is not None}
    served = {name: model.served(indexes) if hasattr(model, "served") else model for name, model in loaded.items()}
    for built in BUILT_ON_FAMILIES:
        model = built.load(folder, replace(inputs, models=served), section(built, settings))
        if model is not None:
            loaded[built.name] = served[built.name] = model
    return loaded, served


@dataclass(frozen=True)
class FittedModels:
    """Every registered model trained on one set of inputs, by name, in the registry's order."""

    inputs: Inputs
    models: dict[str, Any]

    @property
    def history(self) -> History:
        """The history they were fitted on."""
        return self.inputs.history

    @property
    def als(self) -> ALS:
        return cast(ALS, self.models[ALS.name])

    @property
    def blend(self) -> Blend:
        return cast(Blend, self.models[Blend.name])

    def features(self, settings: Settings) -> Features:
        """The second stage's features of these models' candidates."""
        return Features.of(replace(self.inputs, models=self.models), settings.ranker.candidates)

    def shown(self, given: tuple[str, str], users: np.ndarray, settings: Settings) -> History:
        """The history with what held-out ``users`` show (``given``: their ratings and sequences tables) added,
        ALS's factors for them folded in from it: what the models see of users they were not fitted on."""
        n_users, n_items = self.history.user_items.shape
        shown = read_history(*given, n_users, n_items, settings.item2vec.context_items)
        has_given = (shown.recent >= 0).any(axis=1, keepdims=True)
        history = History(
            (self.history.user_items + shown.user_items).tocsr(), np.where(has_given, shown.recent, self.history.recent)
        )
        self.als.fold_in_users(users, history.user_items, Collection.of(self.history.user_items))
        return history

    def adding(self, model: type[Registered], inputs: Inputs, settings: Settings) -> FittedModels:
        """These models and ``model`` trained beside them on ``inputs`` (the title model, which the evaluation
        does not train, on the whole log's names and history)."""
        trained = model.train(replace(inputs, models=self.models), section(model, settings))
        return self if trained is None else replace(self, models=self.models | {model.name: trained})

    def all(self) -> list[Recommender]:
        """The ones that rank items for a user, in the registry's order (baselines first, then the blend and the
        ranker), as the evaluation report lists them."""
        return [self.models[name] for name in names() if name in self.models]


def fit_models(
    paths: Tables,
    settings: Settings,
    spark: Any = None,
    playlist_names: list[str | None] | None = None,
    trees: Any = None,
) -> FittedModels:
    """Every registered model on one set of tables (``spark``: the job's session, for als.backend=spark;
    ``playlist_names``: user_idx order, for the title model; ``trees``: the ranker's, from train_trees)."""
    with stage("history"):
        history = read_history(
            paths.ratings, paths.sequences, paths.n_users, paths.n_items, settings.item2vec.context_items
        )
    inputs = Inputs(paths, history, spark, playlist_names=playlist_names, trees=trees)
    return FittedModels(inputs, train_all(inputs, settings))


def train_trees(split: RankerSplit, settings: Settings, spark: Any = None) -> tuple[Any | None, dict[str, Any]]:
    """The ranker's trees: every family fitted on ``split``'s tables, their candidates for its labelled users
    scored by what they missed. Returns LightGBM's booster (to re-rank models fitted on more of the log: the
    evaluation's, the bundle's), or None where the split labelled too few users (logged), and what training
    measured."""
    with stage("ranker: first stage on its split"):
        first = fit_models(split.tables, settings, spark)
    with stage("ranker: trees"):
        held = read_holdout(split.holdout)
        history = first.history if split.given is None else first.shown(split.given, np.unique(held[0]), settings)
        try:
            ranker, summary = train_ranker(first.features(settings), history, *held, settings.ranker)
        except TooFewLabels as exc:
            log.warning("no ranker: %s", exc)
            return None, {"users": len(np.unique(held[0])), "skipped": str(exc)}
    ndcg = summary["stopping_ndcg@10"]
    if ndcg["trees"] <= ndcg["blend"]:  # a small log's few labels: trees that would serve worse than the blend
        reason = f"on its stopping users the trees' NDCG@10 {ndcg['trees']} does not beat the blend's {ndcg['blend']}"
        log.warning("no ranker: %s", reason)
        return None, summary | {"skipped": reason}
    return ranker.booster, summary
