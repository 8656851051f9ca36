"""Seeded, well-conditioned random weights for tiny presets and benchmarks (the `convert` extra).

Parameters are drawn at random (norm layers near identity, positive variances), then every
convolution is rescaled, in the order the forward pass reaches it, so that its output has unit
standard deviation on an example input (layer-sequential unit-variance scaling). Residual sums
and top-down additions therefore do not blow up with depth. Convolutions named in `damped` are
scaled to `damped_std` instead: for flow heads this keeps each predicted offset around a third of
a pixel, so the warp cascade stays well conditioned and float rounding does not swing results.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

CONVOLUTIONS = (nn.Conv2d, nn.ConvTranspose2d)


def randomize_(module: nn.Module, example: tuple[torch.Tensor, ...], seed: int = 0, *,
               output_std: Mapping[str, float] | None = None) -> nn.Module:
    """Fill every parameter and norm buffer of `module` in place, scaled on `example` (inputs of
    its forward); returns it in eval mode. A module reached under several names (a shared layer)
    is filled and scaled once."""
    gen = torch.Generator().manual_seed(seed)
    module.eval()
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, CONVOLUTIONS):
                sub.weight.copy_(torch.randn(sub.weight.shape, generator=gen))
                if sub.bias is not None:
                    sub.bias.copy_(0.1 * torch.randn(sub.bias.shape, generator=gen))
            elif isinstance(sub, nn.BatchNorm2d):
                sub.weight.copy_(0.75 + 0.5 * torch.rand(sub.weight.shape, generator=gen))
                sub.bias.copy_(0.1 * torch.randn(sub.bias.shape, generator=gen))
                sub.running_mean.copy_(0.1 * torch.randn(sub.running_mean.shape, generator=gen))
                sub.running_var.copy_(0.5 + torch.rand(sub.running_var.shape, generator=gen))
                sub.num_batches_tracked.fill_(1000)
        _unit_outputs(module, example, dict(output_std or {}))
    return module


def _unit_outputs(module: nn.Module, example: tuple[torch.Tensor, ...], output_std: dict[str, float]) -> None:
    scaled: set[nn.Module] = set()

    def rescale(name: str):
        def hook(conv: nn.Module, _inputs, output: torch.Tensor) -> torch.Tensor | None:
            if conv in scaled:
                return None
            scaled.add(conv)
            factor = output_std.get(name, 1.0) / float(output.std().clamp_min(1e-6))
            conv.weight.mul_(factor)
            if conv.bias is not None:
                conv.bias.mul_(factor)
            return output * factor

        return hook

    handles = [sub.register_forward_hook(rescale(name)) for name, sub in module.named_modules()
               if isinstance(sub, CONVOLUTIONS)]
    try:
        module(*example)
    finally:
        for handle in handles:
            handle.remove()


def example_images(*channels: int, seed: int = 0, height: int = 256, width: int = 192) -> tuple[torch.Tensor, ...]:
    """Uniform [-1, 1] images of 1 x c x height x width for each c in `channels` (scaling inputs).

    The default is the trained size: the statistics of the coarsest pyramid levels (8x6 there)
    change with the input size, and so would the scaling.
    """
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(1, c, height, width, generator=gen) * 2 - 1 for c in channels)
