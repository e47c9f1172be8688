"""The image job: a folder of images -> Spark reads and embeds them -> FAISS index (+ classifier) -> one bundle.

Spark lists and reads the files (``binaryFile``, recursive) and embeds them inside its Python workers
(``mapInPandas``: Arrow batches in, the backbone loaded once per worker process); files over the byte limit are
rejected from their listed size without being read. The driver then reads the vectors Spark wrote, sets aside
rejects and exact duplicates, and builds the index with the playlist side's FAISS builder into the same bundle
format, published the same atomic way.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from recsys.artifacts import BundleWriter, described
from recsys.image_report import write_image_report
from recsys.images import head as H
from recsys.images.embed import resolve_device
from recsys.index import load_index
from recsys.index.written import write_index
from recsys.io.files import InputFile, fingerprint, folder_prefix, list_files
from recsys.layout import IMAGE_HEAD, IMAGE_THUMBNAILS, IMAGE_VECTORS, IMAGES, INDEX_IMAGES, REJECTS
from recsys.settings import ImagesSettings, Settings
from recsys.spark.images import embedded
from recsys.stages import stage
from recsys.vectors import l2_normalize

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageRequest:
    images: str  # folder, read recursively
    output: str
    name: str
    labels: str | None  # "folders": an image's label is its first folder under ``images``


def relative_id(path: str, prefix: str) -> str:
    """The file's path under the image folder (whose paths start with ``prefix``, files.folder_prefix), exactly
    as named on disk: the image's id in the bundle and the API. Nothing is decoded: a file named
    ``%2e%2e%2fetc.jpg`` keeps that name."""
    if not path.startswith(prefix):
        raise RuntimeError(f"Spark read {path}, which is not under the image folder {prefix}")
    return path[len(prefix) :]


def read_embedded(path: str, prefix: str, labels: str | None) -> pl.DataFrame:
    """What Spark wrote, with image ids (and labels), sorted by id so the build is deterministic."""
    rows = pl.read_parquet(f"{path}/*.parquet")
    ids = [relative_id(uri, prefix) for uri in rows["path"]]
    rows = rows.with_columns(pl.Series("image_id", ids)).sort("image_id")
    label = pl.col("image_id").str.split("/").list.first() if labels == "folders" else pl.lit(None, pl.Utf8)
    has_folder = pl.col("image_id").str.contains("/")
    return rows.with_columns(pl.when(has_folder).then(label).otherwise(None).alias("label"))


def unread_reason(file: InputFile) -> str:
    """Why Spark's reader did not return a listed file (empty files, hidden names, names Hadoop cannot open)."""
    if file.size == 0:
        return "empty file"
    if file.name.rsplit("/", 1)[-1].startswith((".", "_")):
        return "not read: Spark skips names starting with . or _"
    if ":" in file.name:
        return "not read: Hadoop cannot open a file whose name holds ':'"
    return "not read: Spark could not open the file"


def with_unread(rows: pl.DataFrame, listed: list[InputFile]) -> pl.DataFrame:
    """Listed files Spark's reader never returned, added as rejects with the reason: nothing under the folder goes
    unreported, and a file it cannot open does not stop the job."""
    seen = set(rows["image_id"].to_list())
    unread = [f for f in listed if f.name not in seen]
    reasons = [unread_reason(f) for f in unread]
    extra = pl.DataFrame(
        {"image_id": [f.name for f in unread], "reason": reasons}, schema={"image_id": pl.Utf8, "reason": pl.Utf8}
    )
    return pl.concat([rows, extra], how="diagonal_relaxed").sort("image_id")


def duplicates(images: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """(the first image of each content hash, {kept id: [identical ids set aside]})."""
    groups = images.group_by("sha256", maintain_order=True).agg(pl.col("image_id"))
    extra = {ids[0]: ids[1:] for ids in groups["image_id"].to_list() if len(ids) > 1}
    return images.unique("sha256", keep="first", maintain_order=True), extra


def near_duplicates(index_path: Path, vectors: np.ndarray, ids: list[str], threshold: float) -> list[dict]:
    """Pairs of different images whose cosine similarity is at least ``threshold``, from the bundle's index."""
    index = load_index(index_path, mmap=False)
    scores, neighbours = index.search(vectors, min(len(ids), 6))
    pairs = {
        (min(i, int(j)), max(i, int(j))): float(score)
        for i, (row, row_scores) in enumerate(zip(neighbours, scores, strict=True))
        for j, score in zip(row, row_scores, strict=True)
        if j >= 0 and j != i and score >= threshold
    }
    return [{"a": ids[a], "b": ids[b], "cosine": round(s, 4)} for (a, b), s in sorted(pairs.items())]


def classify(vectors: np.ndarray, labels: list[str], s: ImagesSettings) -> tuple[H.Head, dict[str, Any]]:
    """Fit the head on a stratified split, measure it and kNN retrieval; then refit it on every labelled image."""
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    train, test = H.stratified_split(y, s.test_fraction, s.seed)
    head = H.fit_head(vectors[train], y[train], classes, s.head_l2, s.seed)
    predicted = head.probabilities(vectors[test]).argmax(axis=1)
    accuracy, macro_f1 = H.accuracy_and_macro_f1(y[test], predicted, len(classes))
    precision, per_class = H.knn_precision(vectors, y, s.knn_k)
    curve = H.learning_curve(vectors, y, classes, train, test, s.head_l2, s.seed)
    metrics = {
        "classes": classes,
        "class_balance": {c: int(np.sum(y == i)) for i, c in enumerate(classes)},
        "train_images": len(train),
        "test_images": len(test),
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        f"knn_precision@{s.knn_k}": precision,
        f"knn_precision@{s.knn_k}_by_class": dict(zip(classes, per_class.round(4).tolist(), strict=True)),
        "learning_curve": [{"train_images": n, "accuracy": a} for n, a in curve],
    }
    return H.fit_head(vectors, y, classes, s.head_l2, s.seed), metrics


def build_image_bundle(spark: SparkSession, request: ImageRequest, settings: Settings) -> Path:
    s = settings.images
    input_files = list_files(spark, request.images)
    prefix = folder_prefix(spark, request.images)
    with BundleWriter(request.output, request.name) as bundle:
        with stage(f"read and embed images ({s.backbone} on {resolve_device(s.device)})"):
            scratch = str(bundle.path("_embedded"))
            embedded(spark, request.images, s).write.parquet(scratch)
            rows = with_unread(read_embedded(scratch, prefix, request.labels), input_files)
        rejects = rows.filter(pl.col("reason").is_not_null())
        bundle.path(REJECTS).mkdir()
        rejects.select("image_id", "reason").write_parquet(bundle.path(REJECTS) / "part-00000.parquet")
        accepted, identical = duplicates(rows.filter(pl.col("reason").is_null()))
        if accepted.is_empty():
            raise ValueError(f"{request.images}: no image could be read ({rejects.height} rejected)")
        accepted = accepted.with_row_index("image_idx")
        accepted.drop("vector", "path", "reason", "thumbnail").write_parquet(bundle.path(IMAGES))
        accepted.select("image_idx", pl.col("thumbnail").alias("jpeg")).write_parquet(bundle.path(IMAGE_THUMBNAILS))
        vectors = l2_normalize(np.stack(accepted["vector"].to_numpy()))
        np.save(bundle.path(IMAGE_VECTORS), vectors)

        with stage("FAISS index"):
            index = write_index(bundle.path(INDEX_IMAGES), vectors, "cosine", vectors, settings.index)
            ids = accepted["image_id"].to_list()
            near = near_duplicates(bundle.path(INDEX_IMAGES), vectors, ids, s.near_duplicate_cosine)

        head_metrics, no_head = None, None
        labelled = accepted["label"].is_not_null().to_numpy()
        classes = accepted["label"].drop_nulls().n_unique()
        if not request.labels:
            no_head = "no labels asked for (--labels folders trains one)"
        elif classes < 2:
            no_head = f"the indexed images hold {classes} labelled class(es), and a head needs two"
        else:
            with stage("transfer-learning head"):
                head, head_metrics = classify(vectors[labelled], accepted["label"].to_numpy()[labelled].tolist(), s)
                head.save(bundle.path(IMAGE_HEAD))
        reasons = rejects.group_by("reason").len().sort("reason")
        counts = {
            "files": rows.height,
            "images": accepted.height,
            "rejects": rejects.height,
            "identical_set_aside": sum(len(v) for v in identical.values()),
        }
        manifest = described(
            settings.model_dump(mode="json"),
            {"images": request.images, "labels": request.labels},
            fingerprint(input_files),
            counts,
            kind="images",
            backbone={"name": s.backbone, "dim": int(vectors.shape[1])},
            rejects=dict(zip(reasons["reason"], reasons["len"], strict=True)),
            duplicates=identical,
            near_duplicates=near,
            head=head_metrics,
            no_head=no_head,
            indexes={INDEX_IMAGES: index},
        )
        write_image_report(bundle.path(""), {key: value for key, value in manifest.items() if key != "config"})
        shutil.rmtree(scratch)
        return bundle.publish(manifest)
