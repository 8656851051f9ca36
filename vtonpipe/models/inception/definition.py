"""The clean-fid feature path around the official TorchScript Inception network (export only).

The official file is a TorchScript archive, so its weights already come with their own graph;
what vtonpipe adds is clean-fid's "clean" mode entry point: the network's ``layers`` submodule
applied to 299x299 images scaled from [0, 255] to [-1, 1], bypassing the archive's internal
(TensorFlow-style) resize.
"""

from __future__ import annotations

import torch
from torch import nn


class CleanInceptionFeatures(nn.Module):
    """(N, 3, 299, 299) float images in [0, 255] -> (N, D) pool3 features (D = 2048 officially)."""

    def __init__(self, network: torch.jit.ScriptModule):
        super().__init__()
        self.layers = network.layers

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - 128.0) / 128.0
        return self.layers(x).reshape(images.shape[0], -1)
