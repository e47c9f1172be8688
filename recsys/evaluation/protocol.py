"""The evaluation's model half, on a split recsys/spark/protocol.py wrote: train the ranker's trees on the split
carved from the training part (where ranker.enabled), fit every registered model and implicit's own ALS (the
external reference) on the training part, fold in held-out users from their given items, rank the held-out items side by
side, and build the report."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np

from recsys.challenge import LIST_LENGTH
from recsys.evaluation.challenge import evaluate_challenge
from recsys.evaluation.offline import DEPTH, Evaluation, evaluate, format_table, sample_users
from recsys.evaluation.reference import ImplicitDirect
from recsys.layout import SplitTables
from recsys.matrices import read_holdout
from recsys.models.base import History
from recsys.models.ranker import Ranker
from recsys.models.title import TitleModel
from recsys.registry import FittedModels, fit_models, train_trees
from recsys.settings import EvaluationSettings, Settings
from recsys.stages import stage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationRun:
    """The report, and the models it evaluated (fitted on the training part of the split)."""

    report: dict[str, Any]
    fitted: FittedModels

    @property
    def trees(self) -> Any:
        """The ranker's booster, where it was trained (to re-rank models fitted on the whole log too)."""
        ranker = self.fitted.models.get(Ranker.name)
        return None if ranker is None else cast(Ranker, ranker).booster


class NothingToEvaluate(ValueError):
    """The split held nothing out: the log is too small for it (the build goes on without a report)."""


def run_evaluation(
    written: SplitTables,
    settings: Settings,
    spark: Any = None,
    artist_of: np.ndarray | None = None,
    names: list[str | None] | None = None,
) -> EvaluationRun:
    """Fit on the split's training tables, rank its held-out items. Held-out users (split=users, challenge) are
    folded in from their given items: ALS solves their factors against the trained item factors, the others read
    their history. ``artist_of`` (see idmap.artist_index) adds the challenge's R-precision with artist credit;
    ``names`` (user_idx order) the title model, for the challenge split, which continues each playlist as
    jobs/challenge.py does. ``spark``: the job's session, for als.backend=spark only."""
    e, paths = settings.evaluation, written.tables
    users, items = read_holdout(written.holdout)
    if not len(users):
        raise NothingToEvaluate(
            f"the {e.split} split held out nothing ({written.protocol}) from {paths.n_users:,} users and "
            f"{paths.n_items:,} items"
        )
    held_out_users = len(np.unique(users))
    users, items = sample_users(users, items, e.max_users, e.seed)
    # the trees first: their own first stage is gone before the evaluated models are fitted beside them
    booster, trained = train_trees(written.ranker, settings, spark) if written.ranker is not None else (None, None)
    fitted = fit_models(paths, settings, spark, trees=booster)
    with stage("implicit ALS with its defaults (reference)"):
        reference = ImplicitDirect(settings.als.seed).fit(fitted.history.user_items)
    history = fitted.history
    if written.given is not None:
        test_users = np.unique(users)
        history = fitted.shown(written.given, test_users, settings)
        reference.fold_in_users(test_users, history.user_items)
    by_category = None
    with stage("ranking"):
        if written.categories is None:
            result = evaluate([*fitted.all(), reference], history, users, items, e.k, artist_of=artist_of)
        else:
            result, by_category = _evaluate_challenge(
                written.categories, fitted, history, users, items, settings, names, artist_of
            )
    log.info("evaluation (%s) on %d held-out pairs:\n%s", written.protocol, len(users), format_table(result.metrics))
    report = {
        "split": e.split,
        "protocol": written.protocol,
        "seed": e.seed,
        "k": e.k,
        "depth": DEPTH if by_category is None else LIST_LENGTH,
        "test_users": len(np.unique(users)),
        "held_out_users": held_out_users,
        "test_pairs": len(users),
        "train_ratings": int(fitted.history.user_items.nnz),
        "models": result.metrics,
        "recall_curve": result.recall_curve,
        "config": settings.model_dump(mode="json"),
    }
    if by_category is not None:
        report["categories"] = by_category
    if trained is not None:
        report["ranker"] = trained
    return EvaluationRun(report, fitted)


def _evaluate_challenge(
    category_of: dict[int, int],
    fitted: FittedModels,
    history: History,
    users: np.ndarray,
    items: np.ndarray,
    settings: Settings,
    names: list[str | None] | None,
    artist_of: np.ndarray | None = None,
) -> tuple[Evaluation, dict[str, Any]]:
    """The challenge split's ranking: the title model fitted on the training playlists' names (the held-out ones
    blanked), then every playlist continued by each model and by the blend (recsys/evaluation/challenge.py)."""
    trained = None if names is None else [None if user in category_of else name for user, name in enumerate(names)]
    title = TitleModel.train(replace(fitted.inputs, playlist_names=trained), settings.title)
    return evaluate_challenge(
        fitted.blend.models, title, names or [None] * history.user_items.shape[0], settings.blend, history,
        users, items, category_of, settings.evaluation.k, artist_of,
    )  # fmt: skip


def publishes_evaluated(report: dict[str, Any], interactions: int, e: EvaluationSettings) -> bool:
    """Whether the evaluated models can be published as they are: they missed at most ``refit_above`` of the
    interactions, and no user was left out of their training (split=users, challenge)."""
    return e.split not in ("users", "challenge") and report["test_pairs"] <= e.refit_above * interactions
