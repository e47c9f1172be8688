"""ALS confidences and solvers: every backend trains the same objective from the same counts."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys import schemas as S
from recsys.models import ALS
from recsys.models.als import choose_solver
from recsys.models.confidence import Collection, confidence, preference_weights
from recsys.settings import ALSSettings

COUNTS = sp.csr_matrix(np.array([[1, 0, 3], [0, 2, 0], [4, 1, 0]], dtype=np.float32))


def test_linear_and_log_confidence():
    linear = confidence(COUNTS, ALSSettings(confidence="linear", alpha=2.0))
    assert linear.toarray().tolist() == [[3, 0, 7], [0, 5, 0], [9, 3, 0]]
    log = preference_weights(COUNTS, ALSSettings(confidence="log", log_epsilon=0.5))
    assert log[0, 2] == pytest.approx(np.log1p(3 / 0.5))
    assert (log.indices == COUNTS.indices).all()  # same sparsity: zeros stay unobserved


def test_bm25_damps_common_items_and_heavy_users():
    weights = preference_weights(COUNTS, ALSSettings(confidence="bm25", bm25_k1=1.0, bm25_b=1.0)).toarray()
    # item 0 and item 1 are each held by 2 of 3 users, item 2 by 1: idf(2) > idf(0)
    assert weights[0, 2] > weights[0, 0]
    assert (weights >= 0).all()


def test_a_row_weighted_against_the_training_collection_matches_its_training_weights():
    """Fold-in weighs a new user's counts with the training matrix's BM25 statistics, not its own row's."""
    counts = sp.csr_matrix(np.array([[1, 0, 3, 0], [0, 2, 0, 1], [4, 1, 0, 0], [0, 0, 0, 2]], dtype=np.float32))
    settings = ALSSettings(confidence="bm25", bm25_k1=1.0, bm25_b=0.75)
    trained = confidence(counts, settings).toarray()
    alone = confidence(counts[0], settings, Collection.of(counts)).toarray()
    assert alone == pytest.approx(trained[0:1])
    assert (trained[0, [0, 2]] > 1).all()  # weighted: both items are held by fewer than all users
    assert confidence(counts[0], settings).toarray()[0, [0, 2]] == pytest.approx([1, 1])  # one row: idf clipped to 0


@pytest.mark.spark
@pytest.mark.parametrize("kind", ["linear", "log", "bm25"])
def test_spark_preference_equals_the_single_node_one(spark, kind):
    from recsys.spark.als import preference

    settings = ALSSettings(confidence=kind, log_epsilon=0.5, bm25_k1=1.0, bm25_b=0.75)
    coo = COUNTS.tocoo()
    rows = [(int(u), int(i), int(c)) for u, i, c in zip(coo.row, coo.col, coo.data, strict=True)]
    ratings = spark.createDataFrame(rows, f"{S.USER_IDX} int, {S.ITEM_IDX} int, {S.COUNT} long")
    got = {(r[0], r[1]): r[2] for r in preference(ratings, settings).collect()}
    expected = preference_weights(COUNTS, settings).tocoo()
    want = {(int(u), int(i)): float(w) for u, i, w in zip(expected.row, expected.col, expected.data, strict=True)}
    assert got == pytest.approx(want)


@pytest.mark.spark
def test_spark_als_checkpoints_its_lineage_during_the_fit_and_removes_the_folder_after(spark, tmp_path, monkeypatch):
    """MLlib ignores checkpointInterval unless the context has a checkpoint folder; without one, the lineage of
    many iterations can overflow the driver's stack (seen on local-cluster). So: files appear, then go."""
    from recsys.spark import als as spark_als

    folder = tmp_path / "ratings_checkpoints"
    seen_during_fit: list[Path] = []
    collect = spark_als._dense

    def collect_and_look(*args):
        seen_during_fit.extend(p for p in folder.rglob("*") if p.is_file())
        return collect(*args)

    monkeypatch.setattr(spark_als, "_dense", collect_and_look)
    counts = sp.random(40, 30, density=0.2, format="coo", random_state=0, data_rvs=lambda n: np.ones(n))
    rows = [(int(u), int(i), int(c)) for u, i, c in zip(counts.row, counts.col, counts.data, strict=True)]
    ratings = spark.createDataFrame(rows, f"{S.USER_IDX} int, {S.ITEM_IDX} int, {S.COUNT} long")
    users, items = spark_als.fit_spark_als(
        ratings, 40, 30, ALSSettings(factors=4, iterations=10), checkpoints=str(folder)
    )
    assert users.shape == (40, 4) and items.shape == (30, 4) and np.abs(items).sum() > 0
    assert seen_during_fit, "MLlib wrote no checkpoint: its lineage grows with every iteration"
    assert not folder.exists()


def test_torch_solver_matches_implicit_from_the_same_start(planted):
    """Same objective, same initialisation, same CG steps: the same scores up to float summation order."""
    _, history, *_ = planted
    base = dict(factors=16, iterations=5, use_gpu="false")
    ours = ALS(ALSSettings(backend="torch", **base)).fit(history.user_items)
    theirs = ALS(ALSSettings(backend="implicit", **base)).fit(history.user_items)
    scores_ours = ours.user_factors_ @ ours.item_factors_.T
    scores_theirs = theirs.user_factors_ @ theirs.item_factors_.T
    # measured: the largest score differs by 0.8% of the largest score after 5 iterations
    assert np.abs(scores_ours - scores_theirs).max() < 0.02 * np.abs(scores_theirs).max()
    users = np.arange(history.user_items.shape[0])
    top_ours, _ = ours.recommend(users, history, 10)
    top_theirs, _ = theirs.recommend(users, history, 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_ours, top_theirs, strict=True)])
    assert overlap > 0.95


@pytest.mark.no_gpu
def test_solver_choice_without_a_gpu():
    shape, nnz = (100, 50), 1000
    assert choose_solver(ALSSettings(), shape, nnz) == ("implicit", "cpu")
    assert choose_solver(ALSSettings(backend="torch"), shape, nnz) == ("torch", "cpu")
    with pytest.raises(RuntimeError, match="no GPU is usable"):
        choose_solver(ALSSettings(use_gpu="true"), shape, nnz)


@pytest.mark.parametrize(
    ("backend", "use_gpu", "torch_gpu", "implicit_cuda", "free", "chosen"),
    [
        ("auto", "auto", True, True, 1 << 40, ("torch", "cuda")),  # torch first: 22.6 s against 38.1 s on an H200
        ("auto", "auto", False, True, 1 << 40, ("implicit", "cpu")),  # no torch GPU: no memory estimate, no GPU
        ("auto", "auto", True, True, 1 << 20, ("implicit", "cpu")),  # the GPU too small for the working set
        ("auto", "false", True, True, 1 << 40, ("implicit", "cpu")),
        ("implicit", "auto", True, True, 1 << 40, ("implicit", "cuda")),  # naming implicit picks its CUDA build
        ("implicit", "auto", True, False, 1 << 40, ("implicit", "cpu")),  # ... and never torch
        ("torch", "auto", True, True, 1 << 40, ("torch", "cuda")),
        ("torch", "false", True, True, 1 << 40, ("torch", "cpu")),
    ],
)
def test_solver_choice_with_stand_in_gpus(monkeypatch, backend, use_gpu, torch_gpu, implicit_cuda, free, chosen):
    """The order auto tries the GPU solvers in, what naming one does, and the memory check, with torch's and
    implicit's view of a GPU stood in (the real ones run in bench/gpu.py on a lent GPU)."""
    import implicit.gpu
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: torch_gpu)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (free, free))
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", implicit_cuda)
    named = {} if backend == "auto" else {"backend": backend}  # auto's rows run the default, not a spelled-out one
    assert choose_solver(ALSSettings(**named, use_gpu=use_gpu), (1000, 500), 10_000) == chosen


def test_insisting_on_a_gpu_names_what_is_missing_for_the_named_backend(monkeypatch):
    import implicit.gpu
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (1 << 20, 1 << 20))
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", False)
    with pytest.raises(RuntimeError, match=r"backend=implicit: implicit has no CUDA \(`make install-gpu`"):
        choose_solver(ALSSettings(backend="implicit", use_gpu="true"), (1000, 500), 10_000)
    with pytest.raises(RuntimeError, match="needs ~.* GiB and the GPU has"):  # torch sees one, too small
        choose_solver(ALSSettings(use_gpu="true"), (1000, 500), 10_000)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)  # on, but nothing can size its run
    with pytest.raises(RuntimeError, match=r"backend=implicit: torch sees no GPU$"):
        choose_solver(ALSSettings(backend="implicit", use_gpu="true"), (1000, 500), 10_000)
    with pytest.raises(RuntimeError, match=r"backend=auto: torch sees no GPU$"):  # auto never asks implicit's
        choose_solver(ALSSettings(use_gpu="true"), (1000, 500), 10_000)
