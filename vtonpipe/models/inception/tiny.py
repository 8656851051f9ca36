"""Tiny Inception preset: a small TorchScript archive with the official file's interface.

The official ``inception-2015-12-05.pt`` is a TorchScript module whose ``forward(img,
return_features=False)`` takes float NCHW images in [0, 255] of any size and whose ``layers``
submodule maps 299x299 inputs in [-1, 1] to 2048 pool3 features. The tiny archive keeps that
interface with a few small convolutions, seeded random weights and a smaller feature width
(FID's matrix square root costs O(D^3): 64 features keep tests fast, 2048 would take minutes on
a small CPU), and is saved under the official file name, so tests and the demo go through
load -> convert -> run unchanged.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase
from vtonpipe.models.inception import INPUT_SIZE, WEIGHTS_FILE
from vtonpipe.models.inception.checkpoint import load_checkpoint
from vtonpipe.models.inception.export import export_ir

NUM_LOGITS = 1008  # the TF graph's classifier width
TINY_FEATURES = 64


class TinyInceptionNetwork(nn.Module):
    """Stand-in for NVIDIA's archive: same entry points, random small layers."""

    def __init__(self, width: int = 16, features: int = TINY_FEATURES):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(4 * width, features, 1),
            nn.ReLU(),
        )
        self.output = nn.Linear(features, NUM_LOGITS)
        # TorchScript cannot read module globals; keep the sizes as attributes.
        self.input_size = INPUT_SIZE
        self.feature_dim = features

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = F.interpolate(img, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        features = self.layers((x - 128.0) / 128.0).reshape(img.shape[0], self.feature_dim)
        return features if return_features else self.output(features)


def write_tiny_weights(
    root: str | os.PathLike, *, seed: int = 0, width: int = 16, features: int = TINY_FEATURES
) -> Path:
    """Save a seeded TinyInceptionNetwork as a TorchScript archive root/WEIGHTS_FILE; returns its path."""
    path = Path(root) / WEIGHTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    network = TinyInceptionNetwork(width, features)
    with torch.no_grad():
        for param in network.parameters():
            if param.ndim == 1:
                param.zero_()
                continue
            # He-scaled weights with a small positive mean keep the ReLUs alive and the features in
            # the range of real pool3 features (mean ~0.5, max a few units), so FID/KID look sane.
            fan_in = param[0].numel()
            param.copy_(torch.randn(param.shape, generator=generator) * math.sqrt(2.0 / fan_in) + 0.5 / fan_in)
    torch.jit.save(torch.jit.script(network.eval()), str(path))
    return path


def build_tiny_ir(
    out_dir: str | os.PathLike, *, seed: int = 0, width: int = 16, features: int = TINY_FEATURES, batch: int = 1
) -> Path:
    """Write tiny weights to out_dir/tiny-weights and convert them into the IR folder out_dir."""
    with phase(f"tiny weights written to {Path(out_dir) / TINY_WEIGHTS}"):
        weights = write_tiny_weights(Path(out_dir) / TINY_WEIGHTS, seed=seed, width=width, features=features)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return export_ir(load_checkpoint(weights), out_dir, batch=batch, variant="tiny", sources=[weights])
