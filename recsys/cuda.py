"""The CUDA 13 libraries implicit's GPU extension links against, loaded from the `gpu` extra's wheels.

implicit 0.7.3's Linux wheel carries a CUDA build (``implicit.gpu._cuda``) that needs cuBLAS 13, cuRAND 10 and the
CUDA 13 runtime by soname, with no path to find them: NVIDIA's pip wheels (``nvidia-cublas``, ``nvidia-curand``,
``nvidia-cuda-runtime``) put them under ``site-packages/nvidia/cu13/lib``. Loading them process-wide before
implicit is first imported lets the extension resolve them, as torch does for its own CUDA wheels. Where the
extra is not installed this finds nothing and does nothing (docs/models.md: ALS on the GPU).
"""

from __future__ import annotations

import ctypes
import logging
import site
from pathlib import Path

log = logging.getLogger(__name__)

#: In dependency order: cuBLAS needs cuBLASLt, both need the runtime.
LIBRARIES = ("libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10")


def library_folders() -> list[Path]:
    """Every ``nvidia/cu13/lib`` folder on this interpreter's site-packages paths."""
    roots = [*site.getsitepackages(), site.getusersitepackages()]
    return [folder for root in roots if (folder := Path(root) / "nvidia" / "cu13" / "lib").is_dir()]


def preload() -> list[str]:
    """Load LIBRARIES globally from the first folder that has them all; the names loaded (none without the extra)."""
    for folder in library_folders():
        paths = [folder / name for name in LIBRARIES]
        if all(path.is_file() for path in paths):
            for path in paths:
                ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            log.debug("loaded %s from %s", ", ".join(LIBRARIES), folder)
            return list(LIBRARIES)
    return []
