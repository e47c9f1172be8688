"""Image bytes to the backbone's input, or a reason why not: what the job's rejects and the upload errors say.

Handled: EXIF orientation (applied), grayscale, palette, CMYK and alpha (all to RGB; alpha over white), files
that are not images, empty or truncated files, and decompression bombs (refused from the header's size, before any
pixel is decoded).

Memory: a decode holds the file's pixels once, in their own mode (at most BYTES_PER_PIXEL each; a JPEG is decoded
already scaled down by its decoder), and never a second full-size copy: the conversion to RGB and the shrinking
run band by band into an image of at most MAX_REDUCED pixels. So a decode of ``p`` pixels needs about
``decode_bytes(p)``, which is how the service turns its memory budget into a pixel cap (serving.upload_memory_mb).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

#: The longest side of the JPEG thumbnails the image bundle keeps for the service's page (~4 KB each).
THUMBNAIL = 160
#: TF-Lite EfficientNet's preprocessing, which these weights were trained with (efficientnet_lite0/PROVENANCE.md).
RESIZE, CROP = 256, 224
MEAN, SCALE = 127.0, 128.0
#: A large image is first shrunk by a whole factor (a box filter) to no less than this many times RESIZE on its
#: short side, then resized as usual: Pillow's "reducing gap", which at 2 its documentation calls
#: indistinguishable from resizing the whole image. An image under 2 x RESIZE x REDUCING_GAP on its short side
#: and under MAX_REDUCED pixels is not shrunk.
REDUCING_GAP = 2
#: The most pixels the shrunk image keeps (an image of extreme shape is shrunk further than its short side asks).
MAX_REDUCED = 1 << 22
#: Rows are converted to RGB and shrunk in bands of about this many pixels.
BAND = 1 << 20
#: The most bytes Pillow holds per decoded pixel (RGB, RGBA, CMYK, I and F all take 4).
BYTES_PER_PIXEL = 4
#: EXIF orientation -> the transpose that shows the image upright (EXIF 2.3, the table ImageOps.exif_transpose
#: applies; applied here to the shrunk image, which no longer carries the file's EXIF).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
ORIENTATION = 0x0112
MIB = 1 << 20


class ImageRejected(ValueError):
    """An input that cannot be embedded; the message is the reason the rejects table and the API show."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


def decode_bytes(pixels: int, max_bytes: int) -> int:
    """About the most memory one decode of ``pixels`` pixels takes: the file's bytes, its pixels in their own mode,
    the shrunk RGB image and one band's conversions (measured in bench/uploads.py)."""
    return max_bytes + BYTES_PER_PIXEL * (pixels + MAX_REDUCED + 4 * BAND)


def budgeted(limits: Limits, memory_bytes: int, decodes: int) -> Limits:
    """``limits`` with the pixel cap lowered where ``decodes`` decodes at once would otherwise need more than
    ``memory_bytes`` together (decode_bytes); ValueError where the budget leaves no pixel at all."""
    pixels = (memory_bytes // decodes - decode_bytes(0, limits.max_bytes)) // BYTES_PER_PIXEL
    if pixels < 1:
        needed = decodes * decode_bytes(1_000_000, limits.max_bytes)
        raise ValueError(
            f"a memory budget of {memory_bytes / MIB:,.0f} MiB leaves no pixels for {decodes} decode(s) at once of "
            f"files up to {limits.max_bytes:,} bytes: give at least {-(-needed // MIB):,} MiB for 1M-pixel "
            "uploads, or fewer decodes at once"
        )
    return Limits(limits.max_bytes, min(limits.max_pixels, pixels))


def reduction(width: int, height: int) -> int:
    """The whole factor an image of this size is shrunk by before the usual resize (1: not at all)."""
    by_short_side = min(width, height) // (RESIZE * REDUCING_GAP)
    by_pixels = math.ceil(math.sqrt(width * height / MAX_REDUCED))
    return max(1, by_short_side, by_pixels)


def open_rgb(data: bytes, limits: Limits) -> tuple[Image.Image, tuple[int, int]]:
    """The image, upright, RGB and shrunk by ``reduction`` of its size, with the file's own (width, height); or
    ImageRejected naming what is wrong."""
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
    factor = reduction(width, height)
    if factor > 1:  # a JPEG is decoded at 1/2, 1/4 or 1/8 scale, no smaller than the factor asks; others ignore it
        image.draft(None, (-(-width // factor), -(-height // factor)))
    try:
        image.load()
        shrunk = _shrunk_rgb(image, reduction(*image.size))
        orientation = image.getexif().get(ORIENTATION)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from None
    return (shrunk.transpose(UPRIGHT[orientation]) if orientation in UPRIGHT else shrunk), (width, height)


def _shrunk_rgb(image: Image.Image, factor: int) -> Image.Image:
    """``image`` in RGB, shrunk ``factor`` times by a box filter, built band by band: no full-size copy is made
    whatever the mode (converting a palette image with transparency whole took 9 bytes a pixel)."""
    width, height = image.size
    shrunk = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, BAND // (width * factor))  # a whole number of boxes, so bands meet exactly
    for top in range(0, height, rows):
        band = _rgb(image.crop((0, top, width, min(top + rows, height))))
        shrunk.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return shrunk


def _rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid over white."""
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
