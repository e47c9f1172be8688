"""An image bundle as the service holds it: ids, labels, the FAISS index, the head; the backbone on first upload.

Similar images by id need no network: the query is the image's stored vector. An upload is decoded and
preprocessed exactly as the job did and embedded with the bundle's backbone, loaded (with torch) the first time
an upload arrives, so a service that never receives one never imports torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from recsys import artifacts, layout
from recsys.bundle.reader import UnknownId
from recsys.images.decode import Limits, open_rgb, preprocess
from recsys.images.head import Head
from recsys.index import Index, load_index, search
from recsys.vectors import l2_normalize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageBundle:
    folder: Path
    version: str
    backbone: str
    ids: list[str]
    index_of: dict[str, int]
    labels: list[str | None]
    vectors: np.ndarray  # L2-normalised, memory-mapped
    index: Index
    head: Head | None
    thumbnails: pa.Array | None  # image_idx order: small JPEGs (older bundles have none)

    @classmethod
    def load(cls, folder: Path) -> ImageBundle:
        manifest = artifacts.verify(folder)
        if manifest.get("kind") != "images":
            raise ValueError(f"bundle {folder.name} is not an image bundle (built by jobs/index_images.py)")
        images = pl.read_parquet(folder / layout.IMAGES).sort("image_idx")
        ids = images["image_id"].to_list()
        head_path = folder / layout.IMAGE_HEAD
        thumbnails_path = folder / layout.IMAGE_THUMBNAILS
        thumbnails = None
        if thumbnails_path.is_file():
            thumbnails = pl.read_parquet(thumbnails_path).sort("image_idx")["jpeg"].to_arrow()
        bundle = cls(
            folder=folder,
            version=manifest["version"],
            backbone=manifest["backbone"]["name"],
            ids=ids,
            index_of={image_id: i for i, image_id in enumerate(ids)},
            labels=images["label"].to_list(),
            vectors=np.load(folder / layout.IMAGE_VECTORS, mmap_mode="r"),
            index=load_index(folder / layout.INDEX_IMAGES),
            head=Head.load(head_path) if head_path.exists() else None,
            thumbnails=thumbnails,
        )
        log.info("loaded image bundle %s: %d images", folder, len(ids))
        return bundle

    def rows(self) -> dict[str, int]:
        return {"images": len(self.ids)}

    def named_indexes(self) -> dict[str, Index]:
        """Its FAISS index, named as /metrics labels it."""
        return {"images": self.index}

    def _answer(self, vector: np.ndarray, k: int, exclude: int | None) -> list[dict[str, Any]]:
        """The k nearest images by cosine, ``exclude`` (the query image itself) filtered inside the search."""
        ids, scores = search(self.index, vector, k, None if exclude is None else np.array([exclude]))
        return [
            {"image": self.ids[i], "score": float(s), "label": self.labels[i]} for i, s in zip(ids, scores, strict=True)
        ]

    def thumbnail(self, image_id: str) -> bytes | None:
        """The image's small JPEG, looked up by id in the bundle (no path from a request reaches the disk); None
        where the bundle was built without thumbnails."""
        if image_id not in self.index_of:
            raise UnknownId("image", image_id)
        if self.thumbnails is None:
            return None
        return self.thumbnails[self.index_of[image_id]].as_py()

    def similar(self, image_id: str, k: int) -> list[dict[str, Any]]:
        if image_id not in self.index_of:
            raise UnknownId("image", image_id)
        i = self.index_of[image_id]
        return self._answer(np.asarray(self.vectors[i], dtype=np.float32), k, i)

    def embed_upload(self, data: bytes, limits: Limits) -> np.ndarray:
        """The upload's normalised vector (ImageRejected with the reason when it cannot be read)."""
        from recsys.images.backbone import load_backbone  # torch, loaded on the first upload only

        pixels = preprocess(open_rgb(data, limits)[0])[None]
        return l2_normalize(load_backbone(self.backbone, "cpu").embed(pixels))[0]

    def similar_to_upload(self, vector: np.ndarray, k: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Neighbours of an uploaded image's vector, and the head's predicted label with its probability."""
        prediction = None
        if self.head is not None:
            p = self.head.probabilities(vector[None, :])[0]
            best = int(p.argmax())
            prediction = {"label": self.head.classes[best], "probability": float(p[best])}
        return self._answer(vector, k, None), prediction
