"""Model-side benchmarks, each beside its peer in the same run: ALS, FAISS, recommend-for-all.

python bench/models.py [--ratings ../shared/data/yes_small] [--faiss-sizes 100000 1000000]
                       [--factors data/bench/artifacts/big] [--only recommend-all als faiss] [--record]

- ALS: recsys.models.ALS (confidence computed inside) against implicit's AlternatingLeastSquares called directly
  on the same confidences, same settings, best of 5 fits each, taking turns; the overhead target is <= 5%.
- FAISS: HNSW (its search breadth set to `index.target_recall` on one set of queries, as the build does) and the
  exact `pruned` kind, against exact search (IndexFlatIP, one batch of 1,000 queries) over the same vectors:
  build seconds, queries per second (1,000 other queries in one batch, the ratio's basis; and one at a time, as
  the service asks) and recall@10 against exact. Two kinds of vectors: learnt ALS factors
  (the items of the `make bench-serve` bundle, sampled to each size, queried by its users' factors, as
  /recommend queries them), and a stress case of isotropic clustered vectors queried from unrelated clusters.
- recommend-for-all: users per second of jobs/recommend_all.py's batched top-k on torch (CPU here) over random
  ALS-shaped factors, against numpy's matrix product + argpartition on the same factors.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from timing import best_of, record

REPO = Path(__file__).resolve().parent.parent
DIM = 64
QUERIES = 1000
FAISS_KINDS = ("hnsw", "pruned")
BENCHES = ("recommend-all", "als", "faiss")


def bench_als(ratings_source: str) -> str:
    """Our ALS wrapper against implicit on the same confidences (yes_small's ratings through the job's Spark stages)."""
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from recsys.models import ALS
    from recsys.models.confidence import confidence
    from recsys.settings import ALSSettings

    user_items = ratings_matrix(ratings_source)
    settings = ALSSettings(use_gpu="false")
    weights = confidence(user_items, settings)

    def direct() -> None:
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(
                factors=settings.factors,
                regularization=settings.regularization,
                alpha=1.0,
                iterations=settings.iterations,
                random_state=settings.seed,
            ).fit(weights, show_progress=False)

    ours, theirs = best_of(lambda: ALS(settings).fit(user_items), direct, repeats=5)
    return (
        f"| ALS fit, {user_items.shape[0]:,} x {user_items.shape[1]:,}, {user_items.nnz:,} ratings, "
        f"{settings.factors} factors, {settings.iterations} iterations | recsys ALS {ours:.2f} s | implicit "
        f"directly {theirs:.2f} s | overhead {100 * (ours / theirs - 1):+.1f}% |"
    )


def ratings_matrix(source: str) -> sp.csr_matrix:
    """yes_small's playlist x song counts, read the way the job reads them (Spark), cached as .npz."""
    cache = Path("/tmp/recsys-bench") / f"{Path(source).name}-ratings.npz"
    if cache.exists():
        return sp.load_npz(cache).tocsr()
    import tempfile

    from recsys import schemas as S
    from recsys.io import InputSpec, read_interactions
    from recsys.matrices import read_user_items
    from recsys.settings import Settings
    from recsys.spark import idmap, tables
    from recsys.spark.session import spark_session

    settings = Settings()
    spark = spark_session(settings.spark)
    try:
        interactions = read_interactions(spark, InputSpec(source, "yes"), settings.input).interactions
        users, items = idmap.user_index(interactions), idmap.item_index(interactions)
        indexed = idmap.apply_index(
            interactions, users.select(S.USER_ID, S.USER_IDX), items.select(S.ITEM_ID, S.ITEM_IDX)
        )
        with tempfile.TemporaryDirectory() as scratch:
            tables.ratings(indexed).write.parquet(f"{scratch}/ratings")
            matrix = read_user_items(f"{scratch}/ratings", users.count(), items.count())
    finally:
        spark.stop()
    cache.parent.mkdir(parents=True, exist_ok=True)
    sp.save_npz(cache, matrix)
    return matrix


# (vectors, queries the build tunes its search breadth on, queries timed and scored)
VectorSet = tuple[np.ndarray, np.ndarray, np.ndarray]


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(1000, DIM))
    return (centres[rng.integers(0, 1000, n)] + 0.5 * rng.normal(size=(n, DIM))).astype(np.float32)


def isotropic(n: int) -> VectorSet:
    """The stress case: diffuse clusters in all 64 dimensions, queried from other clusters (seeds 1, 2)."""
    return clustered(n, 0), clustered(QUERIES, 2), clustered(QUERIES, 1)


def learnt(n: int, bundle: Path) -> VectorSet:
    """``n`` item factors of a bundle's ALS (sampled without replacement), queried by its users' factors."""
    from recsys.artifacts import resolve

    vectors = resolve(bundle.parent, bundle.name) / "vectors"
    items = np.load(vectors / "als_item_factors.npy", mmap_mode="r")
    users = np.load(vectors / "als_user_factors.npy", mmap_mode="r")
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(items), min(n, len(items)), replace=False))
    asked = rng.choice(len(users), 2 * QUERIES, replace=False)
    as_f32 = lambda rows: np.ascontiguousarray(rows, dtype=np.float32)  # noqa: E731
    return as_f32(items[sample]), as_f32(users[asked[:QUERIES]]), as_f32(users[asked[QUERIES:]])


def bench_faiss(name: str, vector_set: VectorSet, kind: str) -> str:
    import faiss

    from recsys.index import ann_recall, build_index, search, search_breadth, search_many, tune_search_breadth
    from recsys.settings import IndexSettings

    vectors, tuning_queries, queries = vector_set
    n, dim = vectors.shape
    settings = IndexSettings(kind=kind)
    start = time.perf_counter()
    index = build_index(vectors, "ip", settings)
    tune_search_breadth(index, vectors, "ip", tuning_queries, settings)  # as the build does, on other queries
    build_s = time.perf_counter() - start
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    index_s, one_s, exact_s = best_of(
        lambda: search_many(index, queries, 10),
        lambda: [search(index, query, 10) for query in queries],  # as the service asks
        lambda: exact.search(queries, 10),
    )
    recall = ann_recall(index, vectors, "ip", queries, 10)
    label = f"{kind} {search_breadth(index) or ''}".strip()
    return (
        f"| FAISS, {n:,} {name} x {dim} | {label} (build {build_s:.0f} s): "
        f"{QUERIES / index_s:,.0f} queries/s in one batch, {QUERIES / one_s:,.0f} one at a time, "
        f"recall@10 {recall:.3f} | exact: {QUERIES / exact_s:,.0f} queries/s "
        f"| {exact_s / index_s:.1f}x exact's QPS |"
    )


def bench_recommend_all(n_users: int, n_items: int) -> str:
    import torch

    from recsys.models.base import SCORE_BLOCK
    from recsys.recommend_all import top_k_batch

    rng = np.random.default_rng(0)
    users = rng.normal(size=(n_users, DIM)).astype(np.float32)
    items = rng.normal(size=(n_items, DIM)).astype(np.float32)
    held = 20  # items per user, filtered out of its recommendations
    cols = rng.integers(0, n_items, n_users * held)
    seen = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (np.repeat(np.arange(n_users), held), cols)), (n_users, n_items)
    )
    batch = max(1, SCORE_BLOCK // n_items)
    u, v = torch.as_tensor(users), torch.as_tensor(items)

    def ours() -> None:
        for first in range(0, n_users, batch):
            top_k_batch(u[first : first + batch], v, seen[first : first + batch], 100)

    def numpy_peer() -> None:
        for first in range(0, n_users, batch):
            scores = users[first : first + batch] @ items.T
            rows, cols = seen[first : first + batch].nonzero()
            scores[rows, cols] = -np.inf
            part = np.argpartition(-scores, 99, axis=1)[:, :100]
            np.take_along_axis(scores, part, axis=1).argsort(axis=1)

    torch_s, numpy_s = best_of(ours, numpy_peer, repeats=1)
    return (
        f"| recommend-for-all, {n_users:,} users x {n_items:,} items, top 100 | torch CPU "
        f"{n_users / torch_s:,.0f} users/s | numpy {n_users / numpy_s:,.0f} users/s | "
        f"{numpy_s / torch_s:.1f}x |"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", default=str(REPO.parent / "shared" / "data" / "yes_small"))
    parser.add_argument("--faiss-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--factors",
        type=Path,
        default=REPO / "data" / "bench" / "artifacts" / "big",
        help="a bundle home whose latest ALS factors are the vectors FAISS is measured on (make bench builds it)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=BENCHES, default=list(BENCHES), help="run these benchmarks (default: all)"
    )
    parser.add_argument("--record", action="store_true", help="append the results to docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    runs = []
    if "recommend-all" in args.only:
        runs.append(lambda: bench_recommend_all(200_000, 50_000))
    if "als" in args.only:
        runs.append(lambda: bench_als(args.ratings))
    if "faiss" in args.only:
        vector_sets = (("ALS item factors", lambda n: learnt(n, args.factors)), ("isotropic vectors", isotropic))
        for name, vectors in vector_sets:
            runs += [
                lambda n=n, k=k, name=name, vectors=vectors: bench_faiss(name, vectors(n), k)
                for n in args.faiss_sizes
                for k in FAISS_KINDS
            ]
    rows = []
    for run in runs:
        rows.append(run())
        print(rows[-1], flush=True)
    table = "\n".join(["| what | ours | peer | ratio |", "|---|---|---|---|", *rows])
    print(table)
    if args.record:
        record("Models, indexes, recommend-for-all", f"python bench/models.py {' '.join(argv)}", " (no GPU)", table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
