"""Decoding every kind of input the photo projects met, and proof that the backbone's weights are the real ones."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from recsys.images.decode import CROP, ImageRejected, Limits, open_rgb, preprocess
from tests.conftest import shared_dataset

LIMITS = Limits(max_bytes=5_000_000, max_pixels=10_000_000)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with one row of data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.mark.parametrize(
    ("mode", "fmt"), [("L", "PNG"), ("CMYK", "JPEG"), ("RGBA", "PNG"), ("P", "GIF"), ("I;16", "PNG"), ("RGB", "WEBP")]
)
def test_every_colour_mode_becomes_rgb(mode, fmt):
    image = Image.new("RGB", (40, 30), (200, 30, 30)).convert(mode)
    decoded, size = open_rgb(encoded(image, fmt), LIMITS)
    assert decoded.mode == "RGB" and decoded.size == size == (40, 30)


def test_transparency_is_laid_over_white():
    clear = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert open_rgb(encoded(clear, "PNG"), LIMITS)[0].getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    stored = Image.new("RGB", (60, 20), (0, 0, 255))
    assert open_rgb(encoded(stored, "JPEG", exif=exif), LIMITS)[0].size == (20, 60)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"user_id,item_id\n1,2\n", "not an image"),
        (png_claiming(4_000, 3_000), "4000x3000 pixels is over the limit of 10,000,000"),
        (png_claiming(60_000, 60_000), "decompression bomb: Image size \\(3600000000 pixels\\)"),
        (b"\0" * 6_000_000, "bytes is over the limit"),
    ],
)
def test_bad_input_is_refused_with_its_reason(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        open_rgb(data, LIMITS)


def test_a_truncated_file_is_refused():
    photo = encoded(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        open_rgb(photo[: len(photo) // 2], LIMITS)


def test_preprocessing_is_the_weights_own():
    """Short side to 256, centre crop 224; then, on the network's device, (x - 127) / 128, channels first."""
    from recsys.images.backbone import load_backbone

    crop = preprocess(Image.new("RGB", (512, 300), (255, 127, 0)))
    assert crop.shape == (CROP, CROP, 3) and crop.dtype == np.uint8
    network_input = load_backbone("efficientnet_lite0", "cpu").network_input(crop[None]).numpy()
    assert network_input.shape == (1, 3, CROP, CROP) and network_input.dtype == np.float32
    assert network_input[0, :, 100, 100].tolist() == pytest.approx([1.0, 0.0, -127 / 128])


def test_the_weights_are_the_real_imagenet_ones():
    """The top-1 class of the scikit-image cat and coffee photos matches the oracle in verify_output.txt."""
    from recsys.images.backbone import load_backbone

    samples = shared_dataset("skimage_samples")
    oracle = {}
    for line in (shared_dataset("efficientnet_lite0") / "verify_output.txt").read_text().splitlines():
        name, top5 = line.split(" | ")[:2]
        oracle[name.strip()] = int(top5.split(": ", 1)[1].split(":", 1)[0])
    backbone = load_backbone("efficientnet_lite0", "cpu")
    for name in ("chelsea.png", "coffee.png"):
        logits = backbone.logits(preprocess(open_rgb((samples / name).read_bytes(), LIMITS)[0])[None])[0]
        assert int(np.argmax(logits)) == oracle[name], name  # 282 tiger cat, 967 espresso
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert probabilities.max() > 0.9  # espresso at 0.96; random weights give ~0.001 everywhere
