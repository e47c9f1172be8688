"""The challenge split's evaluation: held-out playlists continued 500 deep exactly as jobs/challenge.py continues
them (recsys/continuation.py), by each model alone and by the blend with the title model, scored with the RecSys
Challenge 2018's metrics overall and per category.

The definitions follow the winners' evaluator (layer6ai-labs/RecSys2018, ``src/main/java/common/Evaluator*``),
restated in recsys/metrics.py: R-precision with the artist credit over the first |held-out| tracks,
NDCG over the 500 with the ideal DCG over the held-out tracks, clicks as pages of 10 before the first hit (51
when none of the 500 hits).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recsys import metrics as M
from recsys.challenge import CATEGORIES, LIST_LENGTH, category_label
from recsys.continuation import Titles, continue_playlists
from recsys.evaluation.offline import Evaluation, group_by_user, scored
from recsys.models.base import History, Recommender
from recsys.models.blend import Blend
from recsys.models.title import TitleModel
from recsys.settings import BlendSettings
from recsys.stages import stage


def only(blend: BlendSettings, names: list[str], name: str) -> BlendSettings:
    """The blend's settings with the weights of ``names`` zero but ``name``'s: one model continues alone."""
    return blend.model_copy(update=dict.fromkeys(names, 0.0) | {name: 1.0})


def evaluate_challenge(
    members: list[Recommender],
    title: TitleModel | None,
    names: Sequence[str | None],
    blend: BlendSettings,
    history: History,
    users: np.ndarray,
    items: np.ndarray,
    category_of: dict[int, int],
    k: int,
    artist_of: np.ndarray | None = None,
) -> tuple[Evaluation, dict[str, dict[str, dict[str, float]]]]:
    """Every system's metrics overall and per category: the popular tracks, each member alone, the title model
    alone (where the log names its playlists) and the blend of all with the title. ``users[i]`` held out ``items[i]``;
    ``category_of[user]`` its category, whose name is hidden where the category has none; ``history`` holds the
    seeds. Lists are LIST_LENGTH long; ``k`` is the report's cut for recall and the other ranking metrics."""
    test_users, relevant = group_by_user(np.asarray(users), np.asarray(items))
    category = np.array([category_of[int(u)] for u in test_users], dtype=np.int64)
    shown = list(names)
    for user, c in zip(test_users.tolist(), category.tolist(), strict=True):
        if not CATEGORIES[c][0]:
            shown[user] = None  # the categories without a title
    titles = Titles(title, shown) if title is not None else None
    holders = np.bincount(history.user_items.indices, minlength=history.n_items)
    popular = np.argsort(-holders, kind="stable")
    popularity = holders / max(history.user_items.shape[0], 1)
    weighted = [m.name for m in members] + [Titles.name]
    systems: dict[str, tuple[list[Recommender], Titles | None, BlendSettings]] = {
        "popularity": ([], None, blend),  # the challenge's baseline: the same 500 most popular for every playlist
        **{m.name: ([m], None, only(blend, weighted, m.name)) for m in members},
    }
    if titles is not None:
        systems["title"] = ([], titles, only(blend, weighted, Titles.name))
    systems[Blend.name] = (members, titles, blend)
    metrics, curves, by_category = {}, {}, {}
    for name, (chosen, named, weights) in systems.items():
        with stage(name):
            ids = continue_playlists(chosen, named, weights, test_users, history, popular, LIST_LENGTH)
        metrics[name] = scored(ids, relevant, k, popularity, artist_of) | {
            f"ndcg@{LIST_LENGTH}": M.ndcg_at_k(ids, relevant, LIST_LENGTH)
        }
        curves[name] = M.recall_curve(ids, relevant).tolist()
        for c in np.unique(category).tolist():
            rows = np.flatnonzero(category == c)
            picked = [relevant[r] for r in rows]
            values = {"playlists": float(len(rows)), "r_precision": M.r_precision(ids[rows], picked)}
            if artist_of is not None:
                values["r_precision_artists"] = M.r_precision_with_artists(ids[rows], picked, artist_of)
            values |= {f"ndcg@{LIST_LENGTH}": M.ndcg_at_k(ids[rows], picked, LIST_LENGTH)}
            by_category.setdefault(category_label(*CATEGORIES[c]), {})[name] = values | {
                "clicks": M.clicks(ids[rows], picked)
            }
    return Evaluation(metrics, curves), by_category
