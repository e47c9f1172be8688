"""Choose model settings on a validation split carved out of the training data; the test split is never seen.

python bench/tune.py --input ../shared/data/yes_small --format yes [--work DIR]
    [--grid item2vec|sequential|als|ease|user_knn|blend]

Splits as the build job does (last item of a seeded share of playlists held out as the test split), then carves
a validation split out of what remains the same way with the next seed. Spark writes the fit tables once; each
grid point fits on them and is scored by recall@k on the validation split. Tune only on yes_small and
movielens_latest_small (docs/models.md); the larger datasets are for reporting.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys import schemas as S
from recsys.evaluation.offline import evaluate, format_table
from recsys.io import InputSpec, read_interactions
from recsys.layout import Tables
from recsys.matrices import read_history, read_holdout
from recsys.metrics import recall_at_k
from recsys.models import Item2Vec, SequentialRules, UserKNN
from recsys.models.base import Inputs, top_k
from recsys.models.blend import fuse
from recsys.registry import FAMILIES, fit_models, section
from recsys.settings import Item2VecSettings, Settings
from recsys.spark import idmap, tables
from recsys.spark.protocol import split_for_evaluation, write_split
from recsys.spark.session import spark_session

log = logging.getLogger("tune")

#: Training settings: each point is one fit.
ITEM2VEC_FIT_GRID = {"ns_exponent": [0.75, 0.0, -0.5], "epochs": [20, 100], "window": [3, 5]}
#: Scoring settings: every point is scored on each fit, without refitting.
ITEM2VEC_SCORE_GRID = {"context_items": [1, 3, 5], "context_decay": [1.0, 0.6]}


def grid(axes: dict[str, list]) -> list[dict]:
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


def write_validation_tables(source: InputSpec, work: Path, settings: Settings) -> Tables:
    """Test split off, then a validation split off the rest (in ``work/holdout``); the remainder's tables."""
    spark = spark_session(settings.spark)
    try:
        interactions = read_interactions(spark, source, settings.input).interactions
        users, items = idmap.user_index(interactions), idmap.item_index(interactions)
        indexed = idmap.apply_index(
            interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
        )
        e = settings.evaluation
        train = split_for_evaluation(indexed, e, e.seed, users.count()).train
        paths, _ = write_split(train, settings, work, e.seed + 1, users.count(), items.count())
        return paths
    finally:
        spark.stop()


def tune_item2vec(paths: Tables, work: Path, k: int) -> dict[str, dict[str, float]]:
    """recall@k of item2vec next-song scoring for every fit and scoring point of the grids."""
    users, held = read_holdout(str(work / "holdout"))
    history = read_history(paths.ratings, paths.sequences, paths.n_users, paths.n_items, 8)
    results = {}
    for fit_point in grid(ITEM2VEC_FIT_GRID):
        fitted = Item2Vec(Item2VecSettings(**fit_point)).fit(paths.sequences, paths.n_items)
        variants = []
        for score_point in grid(ITEM2VEC_SCORE_GRID):
            variant = copy.copy(fitted)
            variant.settings = fitted.settings.model_copy(update=score_point)
            variant.name = " ".join(f"{n}={v}" for n, v in (fit_point | score_point).items())
            variants.append(variant)
        results |= evaluate(variants, history, users, held, k).metrics
    return results


#: Per family fitted on the user x item matrix alone, the settings points to fit (its settings section's keys).
MATRIX_GRIDS = {
    "als": {
        "confidence": ["linear", "log", "bm25"],
        "alpha": [1.0, 2.0, 5.0, 20.0],
        "regularization": [0.05, 0.5, 5.0],
    },
    "ease": {"l2": [20.0, 50.0, 100.0, 200.0], "top_n": [100, 300, 1000]},
    "user_knn": {
        "neighbours": [50, 100, 200, 400, 800],
        "length_exponent": [0.25, 0.5, 0.75, 1.0],
        "idf": [False, True],
    },
}


def tune_family(name: str, paths: Tables, work: Path, k: int) -> dict[str, dict[str, float]]:
    """recall@k of the registered family ``name``, trained as the build trains it, for every point of its grid."""
    users, held = read_holdout(str(work / "holdout"))
    history = read_history(paths.ratings, paths.sequences, paths.n_users, paths.n_items, 1)
    family = next(family for family in FAMILIES if family.name == name)
    results = {}
    for point in grid(MATRIX_GRIDS[name]):
        fitted = family.train(Inputs(paths, history), section(family, Settings(**{name: point})))
        fitted.name = " ".join(f"{n}={v}" for n, v in point.items())
        results |= evaluate([fitted], history, users, held, k).metrics
    return results


#: Sequential rules: the table's shape (each point one Spark count), then the decay (scored on each table).
SEQUENTIAL_TABLE_GRID = {"window": [2, 5, 10, 20], "top_n": [100, 300]}
SEQUENTIAL_DECAYS = [0.3, 0.5, 0.7, 1.0]


def tune_sequential(paths: Tables, work: Path, settings: Settings) -> dict[str, dict[str, float]]:
    """recall@k of the sequential rules for every table point (transitions counted by Spark from the validation
    tables' sequences, as the build counts them) and decay, over the latest item2vec.context_items items."""
    users, held = read_holdout(str(work / "holdout"))
    history = read_history(
        paths.ratings, paths.sequences, paths.n_users, paths.n_items, settings.item2vec.context_items
    )
    spark = spark_session(settings.spark)
    results = {}
    try:
        for point in grid(SEQUENTIAL_TABLE_GRID):
            table = str(work / "transitions-{window}-{top_n}".format(**point))
            seqs = spark.read.parquet(paths.sequences)
            cap = settings.sequential.max_pairs_per_playlist
            tables.transitions(seqs, point["window"], point["top_n"], cap).write.parquet(table)
            variants = []
            for decay in SEQUENTIAL_DECAYS:
                variant = SequentialRules(decay).fit(table, paths.n_items)
                variant.name = " ".join(f"{n}={v}" for n, v in (point | {"decay": decay}).items())
                variants.append(variant)
            results |= evaluate(variants, history, users, held, settings.evaluation.k).metrics
    finally:
        spark.stop()
    return results


#: Blend weights, relative: each model's weight in the rank fusion (0 leaves it out).
BLEND_GRID = {
    "als": [0.0, 0.5, 1.0],
    "item2vec": [0.0, 0.5, 1.0],
    "cooccurrence": [0.0, 0.5, 1.0],
    "sequential": [0.0, 0.25, 0.5, 1.0],
    "ease": [0.0, 0.5, 1.0],
    "user_knn": [0.0, 0.5, 1.0],
}
BLEND_OFFSETS = [10.0, 60.0]
#: user kNN's neighbours, each ranked once: the blend fuses best with fewer than user kNN alone scores best with.
BLEND_NEIGHBOURS = [50, 200]


def fuse_scores(lists: list[tuple[np.ndarray, np.ndarray]], weights: list[float], n_items: int) -> np.ndarray:
    """The alternative to rank fusion, for comparison: CombSUM of each list's scores min-max scaled per user (Lee,
    SIGIR 1997), so scores on unrelated scales add up."""
    fused = np.zeros((lists[0][0].shape[0], n_items), dtype=np.float32)
    for (ids, scores), weight in zip(lists, weights, strict=True):
        listed = ids >= 0
        # a user whose list is empty (user kNN finds no neighbour) has no bounds; only listed scores are read
        low = np.min(scores, axis=1, where=listed, initial=np.inf, keepdims=True)
        high = np.max(scores, axis=1, where=listed, initial=-np.inf, keepdims=True)
        scaled = (scores - low) / np.maximum(high - low, 1e-9)
        rows, ranks = np.nonzero(listed)
        fused[rows, ids[rows, ranks]] += weight * scaled[rows, ranks]
    fused[fused == 0] = -np.inf
    return fused


def tune_blend(paths: Tables, work: Path, settings: Settings) -> dict[str, dict[str, float]]:
    """recall@k of the rank fusion for every weight point and user kNN neighbour count, from each model's lists
    ranked once; and of score fusion (``fuse_scores``) at the same points, which the blend does not use."""
    users, held = read_holdout(str(work / "holdout"))
    k, depth = settings.evaluation.k, settings.blend.depth
    fitted = fit_models(paths, settings)  # implicit ALS: the Spark session is only for als.backend=spark
    history = fitted.history
    singles = [name for name in BLEND_GRID if name != "user_knn"]  # ranked once; user kNN at each neighbour count
    lists = {name: fitted.models[name].recommend(users, history, depth) for name in singles}  # EASE fits yes_small
    knn_lists = {
        n: UserKNN(settings.user_knn.model_copy(update={"neighbours": n}))
        .fit(history.user_items)
        .recommend(users, history, depth)
        for n in BLEND_NEIGHBOURS
    }
    seen = history.user_items[users]
    relevant = [np.array([item]) for item in held]
    results = {name: {f"recall@{k}": recall_at_k(ids, relevant, k)} for name, (ids, _) in lists.items()}
    for n, (ids, _) in knn_lists.items():
        results[f"user_knn neighbours={n}"] = {f"recall@{k}": recall_at_k(ids, relevant, k)}

    def scored(fused: np.ndarray | sp.spmatrix, name: str) -> None:
        results[name] = {f"recall@{k}": recall_at_k(top_k(fused, seen, k)[0], relevant, k)}

    for neighbours, knn in knn_lists.items():
        ranked = {**lists, "user_knn": knn}
        for point in grid(BLEND_GRID):
            if not any(point.values()):
                continue
            weights = list(point.values())
            name = " ".join(f"{n}={w}" for n, w in point.items()) + f" neighbours={neighbours}"
            for offset in BLEND_OFFSETS:
                fused = fuse([ranked[n][0] for n in point], weights, paths.n_items, offset)
                scored(fused, f"{name} rank_offset={offset}")
            scored(fuse_scores([ranked[n] for n in point], weights, paths.n_items), f"{name} score fusion")
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--format", required=True)
    parser.add_argument("--grid", choices=["item2vec", "sequential", *MATRIX_GRIDS, "blend"], default="item2vec")
    parser.add_argument("--work", type=Path, help="keep the validation tables here (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    settings = Settings()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        paths = write_validation_tables(InputSpec(args.input, args.format), work, settings)
        if args.grid == "item2vec":
            results = tune_item2vec(paths, work, settings.evaluation.k)
        elif args.grid == "sequential":
            results = tune_sequential(paths, work, settings)
        elif args.grid == "blend":
            results = tune_blend(paths, work, settings)
        else:
            results = tune_family(args.grid, paths, work, settings.evaluation.k)
    print(format_table(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
