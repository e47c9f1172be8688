"""Image bytes to the backbone's input, or a reason why not: what the job's rejects and the upload errors say.

Handled: EXIF orientation (applied), grayscale, palette, CMYK and alpha (all to RGB; alpha over white), files
that are not images, empty or truncated files, and decompression bombs (refused from the header's size, before any
pixel is decoded).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: The longest side of the JPEG thumbnails the image bundle keeps for the service's page (~4 KB each).
THUMBNAIL = 160
#: TF-Lite EfficientNet's preprocessing, which these weights were trained with (efficientnet_lite0/PROVENANCE.md).
RESIZE, CROP = 256, 224
MEAN, SCALE = 127.0, 128.0


class ImageRejected(ValueError):
    """An input that cannot be embedded; the message is the reason the rejects table and the API show."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


def open_rgb(data: bytes, limits: Limits) -> Image.Image:
    """The decoded image, upright and RGB, or ImageRejected naming what is wrong."""
    if not data:
        raise ImageRejected("empty file")
    if len(data) > limits.max_bytes:
        raise ImageRejected(f"{len(data):,} bytes is over the limit of {limits.max_bytes:,}")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageRejected("not an image PIL can read") from None
    except Image.DecompressionBombError as exc:  # PIL's own bound, far above ours: refused from the header
        raise ImageRejected(f"decompression bomb: {exc}") from None
    width, height = image.size
    if width * height > limits.max_pixels:  # from the header: nothing decoded yet
        raise ImageRejected(f"{width}x{height} pixels is over the limit of {limits.max_pixels:,}")
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def preprocess(image: Image.Image) -> np.ndarray:
    """(CROP, CROP, 3) uint8: short side resized to RESIZE (bilinear), centre crop. The (x - MEAN) / SCALE
    normalisation runs on the network's device (Backbone), so the CPU side stays cheap and bytes-sized."""
    width, height = image.size
    scale = RESIZE / min(width, height)
    resized = image.resize((max(CROP, round(width * scale)), max(CROP, round(height * scale))), Image.BILINEAR)
    left, top = (resized.width - CROP) // 2, (resized.height - CROP) // 2
    return np.array(resized.crop((left, top, left + CROP, top + CROP)), dtype=np.uint8)  # a writable copy


def thumbnail(image: Image.Image) -> bytes:
    """A small JPEG of the decoded image (THUMBNAIL pixels on its longest side): what the page shows, served from
    the bundle, so the service never reads the image folder."""
    small = image.copy()
    small.thumbnail((THUMBNAIL, THUMBNAIL), Image.BILINEAR)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()
