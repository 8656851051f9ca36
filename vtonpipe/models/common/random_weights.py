"""Seeded, well-conditioned random weights for tiny presets and benchmarks (the `convert` extra).

Convolutions are He-scaled for their true fan-in (groups and transposed strides counted), norm
layers get scales near 1 and positive variances, biases are small. Modules named in `damped`
are scaled down further: for flow heads this keeps the predicted offsets around a pixel, so the
warp cascade stays well conditioned and float rounding does not swing the result.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def randomize_(module: nn.Module, seed: int = 0, *, damped: Iterable[str] = (), damping: float = 0.03) -> nn.Module:
    """Fill every parameter and norm buffer of `module` in place; returns it in eval mode.

    A module reached under several names (a shared layer) is filled once.
    """
    gen = torch.Generator().manual_seed(seed)
    damped = set(damped)

    def normal(shape: torch.Size, std: float, mean: float = 0.0) -> torch.Tensor:
        return torch.randn(shape, generator=gen) * std + mean

    with torch.no_grad():
        for name, sub in module.named_modules():
            gain = damping if name in damped else 1.0
            if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d)):
                kh, kw = sub.kernel_size
                if isinstance(sub, nn.ConvTranspose2d):
                    fan_in = sub.weight.shape[0] * kh * kw / (sub.stride[0] * sub.stride[1])
                else:
                    fan_in = sub.weight.shape[1] * kh * kw
                sub.weight.copy_(normal(sub.weight.shape, gain * (2.0 / fan_in) ** 0.5))
                if sub.bias is not None:
                    sub.bias.copy_(normal(sub.bias.shape, 0.05 * gain))
            elif isinstance(sub, nn.BatchNorm2d):
                sub.weight.copy_(0.75 + 0.5 * torch.rand(sub.weight.shape, generator=gen))
                sub.bias.copy_(normal(sub.bias.shape, 0.1))
                sub.running_mean.copy_(normal(sub.running_mean.shape, 0.1))
                sub.running_var.copy_(0.5 + torch.rand(sub.running_var.shape, generator=gen))
                sub.num_batches_tracked.fill_(1000)
    return module.eval()
