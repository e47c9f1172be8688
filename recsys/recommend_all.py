"""Top-k items for every user of a bundle, for export to a key-value store: Parquet (user_id, rank, item_id, score).

ALS scores are a matrix product, so users go through in batches: scores = U_batch @ V^T on torch (the GPU where
torch sees one), items the user holds set to -inf, then torch.topk. Each batch becomes one Parquet part file. The
output folder is written beside its final path and renamed into place, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
import torch

from recsys import artifacts, layout
from recsys import schemas as S
from recsys.artifacts import staged_folder
from recsys.matrices import read_user_items
from recsys.models.base import SCORE_BLOCK

log = logging.getLogger(__name__)

#: Scores per batch on a GPU (2 GiB of float32): on an H100, 1.8x the users/s of the CPU's SCORE_BLOCK
#: (837k against 466k users/s, 50k items; bench/gpu.py, docs/BENCHMARKS.md).
GPU_SCORE_BLOCK = 512_000_000

RECOMMENDATIONS_SCHEMA = pa.schema(
    [(S.USER_ID, pa.string()), ("rank", pa.int32()), (S.ITEM_ID, pa.string()), ("score", pa.float32())]
)


def top_k_batch(
    user_factors: torch.Tensor, item_factors: torch.Tensor, seen: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the best k unseen items for each row of ``user_factors``; -1 where fewer remain."""
    scores = user_factors @ item_factors.T
    rows = torch.as_tensor(np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr)), device=scores.device)
    cols = torch.as_tensor(seen.indices.astype(np.int64), device=scores.device)
    scores[rows, cols] = -torch.inf
    best, ids = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    ids, best = ids.cpu().numpy(), best.cpu().numpy()
    ids[~np.isfinite(best)] = -1
    return ids, best


def score_block(device: str) -> int:
    """Scores per batch: SCORE_BLOCK on the CPU; on a GPU up to GPU_SCORE_BLOCK, within a quarter of its free
    memory (the scores, the mask's indices and topk's copies live there together)."""
    if device == "cpu":
        return SCORE_BLOCK
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return max(SCORE_BLOCK, min(GPU_SCORE_BLOCK, free // 16))


def recommend_all(
    bundle: Path, output: Path, k: int, device: str | None = None, block: int | None = None
) -> dict[str, float]:
    """Write every user's top-k to ``output`` (a folder of Parquet parts); returns users, rows and users/second.

    A batch holds as many users as fit ``block`` scores (users x items floats; default: score_block(device)).
    """
    manifest = artifacts.verify(bundle)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    user_ids = pq.read_table(bundle / layout.USERS).sort_by(S.USER_IDX).column(S.USER_ID).to_numpy(zero_copy_only=False)
    item_ids = pq.read_table(bundle / layout.ITEMS).sort_by(S.ITEM_IDX).column(S.ITEM_ID).to_numpy(zero_copy_only=False)
    seen = read_user_items(str(bundle / layout.RATINGS), len(user_ids), len(item_ids))
    users = torch.as_tensor(np.load(bundle / layout.ALS_USER_FACTORS), device=device)
    items = torch.as_tensor(np.load(bundle / layout.ALS_ITEM_FACTORS), device=device)
    batch_size = max(1, (block or score_block(device)) // max(1, len(item_ids)))
    log.info("recommend-all: %d users x %d items, top %d, on %s", len(user_ids), len(item_ids), k, device)

    with staged_folder(output) as staging, torch.no_grad():
        start, rows = time.perf_counter(), 0
        for part, first in enumerate(range(0, len(user_ids), batch_size)):
            last = min(first + batch_size, len(user_ids))
            ids, scores = top_k_batch(users[first:last], items, seen[first:last], k)
            keep = ids >= 0
            table = pa.table(
                {
                    S.USER_ID: np.repeat(user_ids[first:last], keep.sum(axis=1)),
                    "rank": np.nonzero(keep)[1].astype(np.int32) + 1,
                    S.ITEM_ID: item_ids[ids[keep]],
                    "score": scores[keep].astype(np.float32),
                },
                schema=RECOMMENDATIONS_SCHEMA,
            )
            pq.write_table(table, staging / f"part-{part:05d}.parquet")
            rows += table.num_rows
        seconds = time.perf_counter() - start
    log.info(
        "recommend-all: %d rows for %d users in %.1f s, from bundle %s",
        rows,
        len(user_ids),
        seconds,
        manifest["version"],
    )
    return {"users": len(user_ids), "rows": rows, "seconds": seconds, "users_per_s": len(user_ids) / seconds}
