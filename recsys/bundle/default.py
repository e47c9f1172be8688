"""Which model answers a request that names none, where ``serving.default_model`` is ``auto`` (the default): the
one the bundle's own evaluation measured best among those it serves. The build records the choice in the manifest
(``default_model``); the reader makes it again for a bundle built before that record existed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recsys.models.als import ALS
from recsys.models.blend import Blend
from recsys.models.ranker import Ranker

#: Where no evaluation ran (evaluation.enabled=false, a log too small to hold anything out): the first of these the
#: bundle serves, in the order they measured on yes_small and yes_big (docs/models.md).
UNMEASURED = (Ranker.name, Blend.name, ALS.name)


@dataclass(frozen=True)
class DefaultModel:
    """The model a request naming none gets, and why (GET /models says both)."""

    name: str
    why: str


def measured_best(
    served: Sequence[str], evaluation: Mapping[str, Mapping[str, float]] | None, metric: str, split: str
) -> DefaultModel:
    """The model of ``served`` (in the registry's order) with the best ``metric`` in ``evaluation`` (model ->
    metrics, the manifest's), the first of them on a tie; the first of UNMEASURED it serves where none was
    measured."""
    scores = {name: (evaluation or {}).get(name, {}).get(metric) for name in served}
    measured = {name: score for name, score in scores.items() if score is not None}
    if measured:
        best = max(measured, key=measured.__getitem__)
        return DefaultModel(
            best, f"the best {metric} of the models this bundle serves on its held-out split ({split}): "
            f"{measured[best]:.4f}"
        )  # fmt: skip
    name = next((name for name in UNMEASURED if name in served), served[0])
    return DefaultModel(name, f"no evaluation to choose by: the first this bundle serves of {', '.join(UNMEASURED)}")


def recorded(manifest: Mapping[str, Any], served: Sequence[str], metric: str, split: str) -> DefaultModel:
    """The choice the build recorded in ``manifest``, else (an older bundle) made now from its evaluation."""
    if "default_model" in manifest:
        return DefaultModel(**manifest["default_model"])
    return measured_best(served, manifest.get("evaluation"), metric, split)
