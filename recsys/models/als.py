"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008): implicit on CPU or its CUDA build, or the torch CG solver."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path

import implicit.gpu
import numpy as np
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
from threadpoolctl import ThreadpoolController, threadpool_limits

from recsys.index import Index
from recsys.index.written import Indexed
from recsys.layout import ALS_ITEM_FACTORS, ALS_USER_FACTORS, INDEX_ITEMS_ALS, writable
from recsys.models.base import History, Inputs
from recsys.models.confidence import Collection, confidence
from recsys.models.searched import Searched
from recsys.progress import Progress
from recsys.settings import ALSSettings

log = logging.getLogger(__name__)


def choose_solver(settings: ALSSettings, shape: tuple[int, int], nnz: int) -> tuple[str, str]:
    """(solver, device): a GPU where one is usable and the data fits it, else the CPU.

    ``als.backend`` names the solver. ``auto`` (the default) is torch's CG solver on a GPU and implicit on the CPU:
    on an H200 at MPD size torch fit in 22.6 s against implicit's CUDA build's 38.1 s, with the same recall
    (docs/models.md), and on 2 CPU cores implicit is 7x torch. ``implicit`` runs its CUDA build (`make
    install-gpu`) on a GPU. torch reads the free GPU memory for either: a GPU too small for the estimated working
    set is skipped with a log line, not run into an out-of-memory; ``use_gpu=true`` makes that, or a missing GPU,
    an error.
    """
    gpu_solver = "implicit" if settings.backend == "implicit" else "torch"
    cpu_solver = "torch" if settings.backend == "torch" else "implicit"
    if settings.use_gpu != "false":
        missing = gpu_missing(settings)
        if not missing and _gpu_fits(shape, nnz, settings):
            return gpu_solver, "cuda"
        if missing and settings.use_gpu == "true":
            raise RuntimeError(no_gpu_message(settings, missing))
    return cpu_solver, "cpu"


def gpu_missing(settings: ALSSettings) -> list[str]:
    """What this machine lacks for ALS on a GPU with ``settings.backend`` (nothing: it can run there)."""
    import torch  # imported where a solver is chosen: serving a bundle never needs it

    missing = [] if torch.cuda.is_available() else ["torch sees no GPU"]
    if settings.backend == "implicit" and not implicit.gpu.HAS_CUDA:
        missing.append("implicit has no CUDA (`make install-gpu` turns it on)")
    return missing


def no_gpu_message(settings: ALSSettings, missing: list[str]) -> str:
    return f"als.use_gpu=true but no GPU is usable by als.backend={settings.backend}: {' and '.join(missing)}"


def check_gpu_asked_for(settings: ALSSettings) -> None:
    """ValueError (a mistake in the command) where ``als.use_gpu=true`` names a GPU this machine does not have:
    said before Spark starts, not after its stages (the minutes a build spends before ALS)."""
    if settings.use_gpu == "true" and (missing := gpu_missing(settings)):
        raise ValueError(f"{no_gpu_message(settings, missing)}; leave als.use_gpu at auto to train on the CPU")


def _gpu_fits(shape: tuple[int, int], nnz: int, settings: ALSSettings) -> bool:
    import torch

    from recsys.models.torch_als import memory_needed

    need = memory_needed(shape, nnz, settings.factors)
    free, _ = torch.cuda.mem_get_info()
    if need > 0.9 * free:
        log.warning(
            "ALS needs about %.1f GiB on the GPU and %.1f GiB is free: training on the CPU", need / 2**30, free / 2**30
        )
        if settings.use_gpu == "true":
            raise RuntimeError(
                f"als.use_gpu=true but ALS needs ~{need / 2**30:.1f} GiB and the GPU has "
                f"{free / 2**30:.1f} GiB free; use als.backend=spark for ratings this large"
            )
        return False
    return True


class ALS:
    name = "als"

    def __init__(self, settings: ALSSettings) -> None:
        self.settings = settings

    @classmethod
    def train(cls, inputs: Inputs, settings: ALSSettings) -> ALS:
        """The one place the backend is chosen: Spark MLlib on the cluster (als.backend=spark), else implicit or
        the torch solver on this node (``choose_solver``); the same factors either way."""
        if settings.backend != "spark":
            return cls(settings).fit(inputs.history.user_items)
        if inputs.spark is None:
            raise ValueError("als.backend=spark needs a Spark session")
        from recsys.spark.als import fit_spark_als  # the cluster backend only: this node's solvers need no pyspark

        tables = inputs.tables
        ratings = inputs.spark.read.parquet(tables.ratings)
        factors = fit_spark_als(ratings, tables.n_users, tables.n_items, settings, f"{tables.ratings}_checkpoints")
        return cls.from_factors(settings, *factors)

    def save(self, folder: Path) -> None:
        np.save(writable(folder, ALS_USER_FACTORS), self.user_factors_)
        np.save(writable(folder, ALS_ITEM_FACTORS), self.item_factors_)

    @classmethod
    def load(cls, folder: Path, inputs: Inputs, settings: ALSSettings) -> ALS:
        return cls.from_factors(settings, np.load(folder / ALS_USER_FACTORS), np.load(folder / ALS_ITEM_FACTORS))

    def indexed(self, inputs: Inputs) -> dict[str, Indexed]:
        """The index the service searches it in: the item factors, by inner product with a user's factors."""
        return {INDEX_ITEMS_ALS: Indexed(self.item_factors_, "ip", self.user_factors_)}

    def served(self, indexes: Mapping[str, Index]) -> Searched:
        """As the service answers with it: a user's factors searched among the item factors, held items excluded
        inside the search (one search, not a dense score row over the catalogue)."""
        return Searched(self.name, indexes[INDEX_ITEMS_ALS], lambda users, _: self.user_factors_[users], self)

    def fit(self, user_items: sp.csr_matrix) -> ALS:
        """Fit on counts turned into confidences (recsys.models.confidence), on the solver choose_solver picks."""
        s = self.settings
        weights = confidence(user_items, s)
        solver, device = choose_solver(s, user_items.shape, user_items.nnz)
        log.info("ALS: %d users x %d items, %d factors, %s on %s", *user_items.shape, s.factors, solver, device)
        if solver == "torch":
            from recsys.models.torch_als import fit_torch_als

            factors = fit_torch_als(weights, s.factors, s.regularization, s.iterations, s.seed, device)
            return self._wrap(*factors)
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads slow it down
            self.model_ = AlternatingLeastSquares(
                factors=s.factors,
                regularization=s.regularization,
                alpha=1.0,  # the values are already confidences
                iterations=s.iterations,
                random_state=s.seed,
                use_gpu=device == "cuda",
            )
            progress = Progress("ALS", s.iterations, "iterations")
            self.model_.fit(weights, show_progress=False, callback=lambda *_: progress.advance())
        if device == "cuda":
            self.model_ = self.model_.to_cpu()
        self.user_factors_ = np.ascontiguousarray(self.model_.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(self.model_.item_factors, dtype=np.float32)
        return self

    @classmethod
    def from_factors(cls, settings: ALSSettings, user_factors: np.ndarray, item_factors: np.ndarray) -> ALS:
        """Wrap factors trained elsewhere (Spark MLlib) so they recommend through implicit's same code path."""
        return cls(settings)._wrap(user_factors, item_factors)

    def _wrap(self, user_factors: np.ndarray, item_factors: np.ndarray) -> ALS:
        with threadpool_limits(1, "blas"):  # implicit checks the BLAS threadpool when constructed
            self.model_ = AlternatingLeastSquares(
                factors=user_factors.shape[1], regularization=self.settings.regularization, alpha=1.0, use_gpu=False
            )
        self.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)
        self.model_.user_factors, self.model_.item_factors = self.user_factors_, self.item_factors_
        return self

    def fold_in(self, user_items: sp.csr_matrix, collection: Collection) -> np.ndarray:
        """Factors for users the model was not trained on (rows of counts), without retraining: implicit's own
        least-squares solve against the item factors, on confidences weighted by the training ``collection``."""
        weights = confidence(user_items, self.settings, collection)
        with _threadpools().limit(limits=1, user_api="blas"):
            factors = self.model_.recalculate_user(np.arange(user_items.shape[0]), weights)
        return np.asarray(factors, dtype=np.float32).reshape(user_items.shape[0], -1)

    def fold_in_users(self, users: np.ndarray, user_items: sp.csr_matrix, collection: Collection) -> None:
        """Replace the factors of ``users`` (left out of training) by their fold-in from ``user_items`` rows."""
        self.user_factors_[users] = self.fold_in(user_items[users], collection)
        self.model_.user_factors = self.user_factors_

    def recommend(self, users: np.ndarray, history: History, k: int) -> tuple[np.ndarray, np.ndarray]:
        """implicit's own batched recommend, already-held items filtered (while ``history.exclude_seen``)."""
        return implicit_recommend(self.model_, users, history, k)


@functools.cache
def _threadpools() -> ThreadpoolController:
    """The process's BLAS libraries, found once: threadpool_limits looks for them anew at every call (~9 ms, a
    read of /proc/self/maps), which a service folding in one user per request would pay each time."""
    return ThreadpoolController()


def implicit_recommend(
    model: AlternatingLeastSquares, users: np.ndarray, history: History, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """implicit's batched recommend in this project's shape: int64 ids and float32 scores, users x k, padding -1
    and -inf; held items filtered while ``history.exclude_seen``."""
    users = np.asarray(users)
    held = history.user_items[users]
    ids, scores = model.recommend(users, held, N=k, filter_already_liked_items=history.exclude_seen)
    ids = np.asarray(ids, dtype=np.int64).reshape(len(users), -1)
    scores = np.asarray(scores, dtype=np.float32).reshape(len(users), -1)
    scores[ids < 0] = -np.inf
    return ids, scores
