"""Implicit ALS by batched conjugate gradient on torch: GPU ALS for pip users, whose implicit has no CUDA.

The objective and the update are implicit's own (``least_squares_cg``): for each user u, a few CG steps from the
previous factors towards (Y^T C_u Y + lambda I) x_u = Y^T C_u p_u, written as Y^T Y + lambda I plus the
observed items' (c - 1) y y^T, so nothing n_items-sized is built per user. Here every user of a batch takes its
CG steps at once: the observed items' factors are gathered per nonzero and scattered back with index_add.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

log = logging.getLogger(__name__)

#: Nonzeros gathered at once (each holds a factors-long row): bounds the working set, not the result.
NNZ_BATCH = 4_000_000
CG_STEPS = 3  # implicit's default


@dataclass(frozen=True)
class _Rows:
    """One side of the confidence matrix (users x items or items x users) on the device, CSR."""

    indptr: torch.Tensor
    indices: torch.Tensor
    confidence: torch.Tensor

    @classmethod
    def of(cls, matrix: sp.csr_matrix, device: torch.device) -> _Rows:
        return cls(
            torch.as_tensor(matrix.indptr.astype(np.int64), device=device),
            torch.as_tensor(matrix.indices.astype(np.int64), device=device),
            torch.as_tensor(matrix.data.astype(np.float32), device=device),
        )


def memory_needed(shape: tuple[int, int], nnz: int, factors: int) -> int:
    """Bytes the solver holds on its device: both CSR copies, the factors and CG vectors, one gathered batch."""
    n_users, n_items = shape
    csr = 2 * (nnz * (8 + 4) + (max(n_users, n_items) + 1) * 8)
    dense = (n_users + n_items) * factors * 4 + 4 * max(n_users, n_items) * factors * 4
    batch = min(nnz, NNZ_BATCH) * (factors * 4 * 2 + 8 * 3)
    return csr + dense + batch


def _solve(rows: _Rows, x: torch.Tensor, y: torch.Tensor, regularization: float) -> None:
    """CG_STEPS of conjugate gradient for every row of ``x`` against fixed ``y``, in place."""
    yty = y.T @ y + regularization * torch.eye(y.shape[1], device=y.device, dtype=y.dtype)
    indptr = rows.indptr
    start = 0
    n = x.shape[0]
    while start < n:
        # as many rows as fit NNZ_BATCH nonzeros (at least one)
        limit = int(torch.searchsorted(indptr, indptr[start] + NNZ_BATCH, right=True).item()) - 1
        stop = min(max(limit, start + 1), n)
        lo, hi = int(indptr[start].item()), int(indptr[stop].item())
        counts = indptr[start + 1 : stop + 1] - indptr[start:stop]
        owner = torch.repeat_interleave(torch.arange(stop - start, device=x.device), counts)
        gathered = y[rows.indices[lo:hi]]
        weight = rows.confidence[lo:hi] - 1.0

        def times_a(v: torch.Tensor, owner=owner, gathered=gathered, weight=weight) -> torch.Tensor:
            """(Y^T C_u Y + lambda I) v for every row u of the batch."""
            along = (gathered * v[owner]).sum(dim=1) * weight
            return (v @ yty).index_add_(0, owner, gathered * along[:, None])

        block = x[start:stop]
        b = torch.zeros_like(block).index_add_(0, owner, gathered * rows.confidence[lo:hi, None])
        r = b - times_a(block)
        p = r.clone()
        rs_old = (r * r).sum(dim=1)
        for _ in range(CG_STEPS):
            ap = times_a(p)
            active = rs_old > 1e-20
            step = torch.where(active, rs_old / torch.clamp((p * ap).sum(dim=1), min=1e-30), 0.0)
            block += step[:, None] * p
            r -= step[:, None] * ap
            rs_new = (r * r).sum(dim=1)
            p = r + torch.where(active, rs_new / torch.clamp(rs_old, min=1e-30), 0.0)[:, None] * p
            rs_old = rs_new
        x[start:stop] = block
        start = stop


def fit_torch_als(
    confidence: sp.csr_matrix, factors: int, regularization: float, iterations: int, seed: int, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """(user factors, item factors) for a users x items confidence matrix (values 1 + alpha * t(count))."""
    dev = torch.device(device)
    n_users, n_items = confidence.shape
    rng = np.random.default_rng(seed)  # implicit's own initialisation, so both solvers start from the same factors
    user_factors = torch.as_tensor(rng.random((n_users, factors), dtype=np.float32) * 0.01, device=dev)
    item_factors = torch.as_tensor(rng.random((n_items, factors), dtype=np.float32) * 0.01, device=dev)
    by_user = _Rows.of(confidence, dev)
    by_item = _Rows.of(confidence.T.tocsr(), dev)
    log.info("ALS (torch CG) on %s: %d users x %d items, %d factors", dev, n_users, n_items, factors)
    with torch.no_grad():
        for _ in range(iterations):
            _solve(by_user, user_factors, item_factors, regularization)
            _solve(by_item, item_factors, user_factors, regularization)
    return user_factors.cpu().numpy(), item_factors.cpu().numpy()
