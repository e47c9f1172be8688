"""Similar images: to an indexed image, or to an uploaded one embedded on the fly.

No ``from __future__ import annotations`` here: FastAPI must resolve the route signatures' local aliases.
"""

import asyncio
import math
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from recsys.images.decode import ImageRejected, Limits
from recsys.settings import ServingSettings
from serving.dependencies import Images, k_parameter
from serving.errors import error
from serving.responses import Error, SimilarImages, UploadSimilarImages


def router(serving: ServingSettings, limits: Limits) -> APIRouter:
    """The image routes; uploads are decoded ``serving.upload_decodes`` at a time under ``limits`` (whose pixel cap
    the app derived from serving.upload_memory_mb), the others waiting up to ``serving.upload_wait_s``."""
    routes = APIRouter()
    K, default_k = k_parameter(serving)
    turns = asyncio.Semaphore(serving.upload_decodes)  # per worker: each worker process builds its own app
    retry_after = str(max(1, math.ceil(serving.upload_wait_s)))

    @routes.get("/similar-images", response_model=SimilarImages)
    def similar_images(
        bundle: Images,
        image: Annotated[str, Query(min_length=1)],
        k: K = default_k,  # type: ignore[valid-type]
    ) -> SimilarImages:
        """Images whose CNN embeddings are closest by cosine to an indexed image (its path under the folder)."""
        return SimilarImages(image=image, version=bundle.version, images=bundle.similar(image, k))

    @routes.get(
        "/images/thumbnail",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": Error}},
    )
    def image_thumbnail(bundle: Images, image: Annotated[str, Query(min_length=1)]) -> Response:
        """An indexed image's thumbnail (a small JPEG the job kept in the bundle), by its id: what the page shows.
        The id is looked up in the bundle; nothing from the request reaches the file system."""
        data = bundle.thumbnail(image)
        if data is None:
            return error(404, "this image bundle keeps no thumbnails: rebuild it with jobs/index_images.py", "image")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @routes.post(
        "/similar-images", response_model=UploadSimilarImages, responses={413: {"model": Error}, 503: {"model": Error}}
    )
    async def similar_to_upload(
        bundle: Images,
        file: Annotated[UploadFile, File(description="an image file")],
        k: K = default_k,  # type: ignore[valid-type]
    ) -> UploadSimilarImages | JSONResponse:
        """Images closest to an uploaded one, embedded on the fly with the job's preprocessing and backbone, and
        the transfer-learning head's label with its probability where the bundle has a head."""
        try:
            async with asyncio.timeout(serving.upload_wait_s):
                await turns.acquire()
        except TimeoutError:
            busy = error(503, f"busy decoding other uploads ({serving.upload_decodes} at a time): retry later", "file")
            busy.headers["Retry-After"] = retry_after
            return busy
        try:  # the upload's bytes are read into memory only in its turn: waiting ones stay in their spool files
            data = await file.read(limits.max_bytes + 1)
            if len(data) > limits.max_bytes:
                return error(413, f"upload is over the limit of {limits.max_bytes:,} bytes", "file")
            vector = await run_in_threadpool(bundle.embed_upload, data, limits)
        except ImageRejected as exc:
            return error(422, f"invalid parameter 'file': {exc}", "file")
        finally:
            turns.release()
        found, prediction = bundle.similar_to_upload(vector, k)
        return UploadSimilarImages(version=bundle.version, images=found, prediction=prediction)

    return routes
