"""The model families, in one list: what the build fits and saves, the service loads and serves, the contract
test checks and bench/tune.py tunes. Adding a family is one module implementing ``Family`` (recsys/models/base.py)
and one line here; the blend then fuses it wherever ``blend`` has a weight named after it, and the ranker
(the second stage, where ``ranker.enabled``) re-ranks its candidates with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from recsys import schemas as S
from recsys.layout import RankerSplit, Tables
from recsys.matrices import read_history, read_holdout, transitions
from recsys.models.als import ALS
from recsys.models.base import Family, History, Inputs, Recommender
from recsys.models.blend import Blend
from recsys.models.confidence import Collection
from recsys.models.cooccurrence import CoOccurrence
from recsys.models.ease import EASE
from recsys.models.item2vec import Item2Vec
from recsys.models.popularity import Popularity
from recsys.models.ranker import Features, Ranker, TooFewLabels, train_ranker
from recsys.models.user_knn import UserKNN
from recsys.settings import BlendSettings, Settings
from recsys.stages import stage

log = logging.getLogger(__name__)

#: Every family, baselines first: the order of the evaluation report and of GET /models.
FAMILIES: tuple[type[Family], ...] = (Popularity, CoOccurrence, Item2Vec, ALS, EASE, UserKNN)


def names() -> tuple[str, ...]:
    """What ``model=`` may name: every family registered now, the blend of them and the ranker over their
    candidates (read when asked, so a family registered later is named too: tests/test_registry.py)."""
    return (*(family.name for family in FAMILIES), Blend.name, Ranker.name)


def fused(models: dict[str, Recommender], settings: BlendSettings) -> Blend:
    """The blend of ``models``: those with a ``blend`` weight (popularity has none: it is the fallback)."""
    return Blend.of([model for name, model in models.items() if name in BlendSettings.model_fields], settings)


def section(family: type[Family], settings: Settings) -> Any:
    """A family's own settings: the section named after it (``settings.als`` for ALS), None where there is none."""
    return getattr(settings, family.name, None)


def train_all(inputs: Inputs, settings: Settings) -> dict[str, Recommender]:
    """Every family fitted on ``inputs`` (a family that leaves itself out is absent), then their blend."""
    models: dict[str, Recommender] = {}
    for family in FAMILIES:
        with stage(family.name):
            model = family.train(inputs, section(family, settings))
        if model is not None:
            models[family.name] = model
    return models | {Blend.name: fused(models, settings.blend)}


def save_all(models: dict[str, Recommender], folder: Path) -> None:
    """Every fitted family's files into the bundle ``folder`` (the blend is its settings, in the manifest), and
    the ranker's trees where it was trained."""
    for family in FAMILIES:
        if family.name in models:
            family.save(models[family.name], folder)  # type: ignore[arg-type]  # the family's own instance
    if Ranker.name in models:
        cast(Ranker, models[Ranker.name]).save(folder)


def load_all(
    folder: Path, inputs: Inputs, settings: Settings, mapper: Callable[..., Iterable[Any]] = map
) -> dict[str, Recommender]:
    """Every family the bundle in ``folder`` holds, by name, without their blend (the service fuses the
    variants it serves: recsys/bundle/reader.py). ``mapper`` runs the families' loads: the service passes its thread
    pool's map, since each family reads its own files and only reads ``inputs``."""
    loads = mapper(lambda family: family.load(folder, inputs, section(family, settings)), FAMILIES)
    return {family.name: model for family, model in zip(FAMILIES, loads, strict=True) if model is not None}


@dataclass(frozen=True)
class FittedModels:
    """Every registered family fitted on one set of tables, by name, their blend last, and the history they were
    fitted on."""

    history: History
    models: dict[str, Recommender]

    @property
    def als(self) -> ALS:
        return cast(ALS, self.models[ALS.name])

    @property
    def item2vec(self) -> Item2Vec:
        return cast(Item2Vec, self.models[Item2Vec.name])

    @property
    def blend(self) -> Blend:
        return cast(Blend, self.models[Blend.name])

    def features(self, tables: Tables, settings: Settings) -> Features:
        """The second stage's features of these models' candidates (``tables``: the ones they were fitted on, for
        the directional next-song counts)."""
        followed = transitions(S.read_sequences(tables.sequences), tables.n_items)
        return Features.of(self.blend, settings.ranker.candidates, self.models, self.history, followed)

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

    def with_ranker(self, booster: Any, tables: Tables, settings: Settings) -> FittedModels:
        """These models and the ranker whose ``booster`` re-ranks their candidates."""
        ranker = Ranker(self.features(tables, settings), booster)
        return FittedModels(self.history, self.models | {Ranker.name: ranker})

    def all(self) -> list[Recommender]:
        """In the registry's order (baselines first, then the blend and the ranker), as the evaluation report
        lists them."""
        return list(self.models.values())


def fit_models(paths: Tables, settings: Settings, spark: Any = None) -> FittedModels:
    """Every registered family on one set of tables (``spark``: the job's session, for als.backend=spark)."""
    with stage("history"):
        history = read_history(
            paths.ratings, paths.sequences, paths.n_users, paths.n_items, settings.item2vec.context_items
        )
    return FittedModels(history, train_all(Inputs(paths, history, spark), settings))


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
            ranker, summary = train_ranker(first.features(split.tables, settings), history, *held, settings.ranker)
        except TooFewLabels as exc:
            log.warning("no ranker: %s", exc)
            return None, {"users": len(np.unique(held[0])), "skipped": str(exc)}
    ndcg = summary["stopping_ndcg@10"]
    if ndcg["trees"] <= ndcg["blend"]:  # a small log's few labels: trees that would serve worse than the blend
        reason = f"on its stopping users the trees' NDCG@10 {ndcg['trees']} does not beat the blend's {ndcg['blend']}"
        log.warning("no ranker: %s", reason)
        return None, summary | {"skipped": reason}
    return ranker.booster, summary
