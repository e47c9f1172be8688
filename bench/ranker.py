"""Does the learned second stage (recsys/models/ranker.py) beat the blend? Measured the way the build trains it.

python bench/ranker.py --input ../shared/data/yes_small --format yes [--seeds 1 2 3] [--work DIR] [--set k=v ...]

For each seed: the evaluation's `last` split holds the test items out; from its training part, the last item of
up to ranker.users playlists is held out again (the ranker's labels, items the first stage did not see) and every
model is fitted on the rest; the trees learn from those users' candidates. Then every model is fitted on the
evaluation's whole training part and the test users are ranked by every model, the blend and the ranker over the
same members, side by side (recall@10, NDCG@10; the candidates' recall bounds the ranker). Tune on yes_small and
movielens_latest_small only (docs/models.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from recsys import commands
from recsys import metrics as M
from recsys import schemas as S
from recsys.evaluation.offline import group_by_user
from recsys.io import InputSpec, read_interactions
from recsys.io.files import list_files
from recsys.layout import RankerSplit, Tables
from recsys.matrices import read_holdout
from recsys.registry import fit_models, train_trees
from recsys.settings import Settings, load_settings
from recsys.spark import idmap
from recsys.spark.protocol import write_ranker_split, write_split
from recsys.spark.session import spark_session

K = 10


def write_splits(source: InputSpec, settings: Settings, work: Path, seed: int) -> tuple[Tables, RankerSplit]:
    """The test split's training tables (work/test) and, carved from them as the build carves it, the ranker's
    (work/ranker)."""
    spark = spark_session(settings.spark)
    try:
        list_files(spark, source.path)  # a missing input stops here, named
        interactions = read_interactions(spark, source, settings.input).interactions
        users, items = idmap.user_index(interactions), idmap.item_index(interactions)
        indexed = idmap.apply_index(
            interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
        ).cache()
        n_users, n_items = users.count(), items.count()
        test, split = write_split(indexed, settings, work / "test", seed, n_users, n_items)
        return test, write_ranker_split(split.train, settings, work / "ranker", n_users, n_items)
    finally:
        spark.stop()


def measure(source: InputSpec, settings: Settings, work: Path, seed: int) -> dict[str, object]:
    e = settings.evaluation.model_copy(update={"split": "last", "seed": seed})
    settings = settings.model_copy(update={"evaluation": e})
    test_tables, ranker_split = write_splits(source, settings, work, seed)
    start = time.perf_counter()
    trees, trained = train_trees(ranker_split, settings)
    trained["seconds"] = round(time.perf_counter() - start, 1)
    # the trees rank what members fitted on the whole training part list, as a bundle's would
    # (trees None: declined, too few labels or no better than the blend on its stopping users: no ranker)
    fitted = fit_models(test_tables, settings, trees=trees)
    users, relevant = group_by_user(*read_holdout(str(work / "test" / "holdout")))
    result: dict[str, object] = {"seed": seed, "test_users": len(users), "ranker_training": trained}
    for model in fitted.all():
        ids, _ = model.recommend(users, fitted.history, K)
        result[model.name] = {
            f"recall@{K}": round(M.recall_at_k(ids, relevant, K), 4),
            f"ndcg@{K}": round(M.ndcg_at_k(ids, relevant, K), 4),
        }
    if trees is None:
        return result
    candidates = fitted.models["ranker"].features.build(users, fitted.history)  # type: ignore[attr-defined]
    held_users, held_items = read_holdout(str(work / "test" / "holdout"))
    labels = candidates.labels(users, held_users, held_items, fitted.history.n_items)
    result["candidate_recall"] = round(float(labels.sum()) / len(held_items), 4)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--format", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--work", type=Path, help="keep the split tables here (default: a temporary folder)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting, as for the jobs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    settings = load_settings(args.set)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            work = (args.work or Path(scratch)) / f"seed-{seed}"
            results.append(measure(InputSpec(args.input, args.format), settings, work, seed))
            print(json.dumps(results[-1]), flush=True)
    ranked = [r for r in results if "ranker" in r]
    gains = [r["ranker"][f"recall@{K}"] / r["blend"][f"recall@{K}"] - 1 for r in ranked]  # type: ignore[index]
    print(f"ranker over blend, recall@{K}: mean {np.mean(gains):+.1%} over {len(gains)} seeds ({gains})")
    if len(ranked) < len(results):
        print(f"no ranker (declined, see ranker_training) for {len(results) - len(ranked)} of {len(results)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(commands.run("python bench/ranker.py", main))
