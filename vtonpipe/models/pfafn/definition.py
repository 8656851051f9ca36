"""PF-AFN's student networks in torch, with the official checkpoints' key names (export only).

- ``AFWM``: two residual feature encoders (``image_features`` for the garment, ``cond_features``
  for the person), two refine pyramids (``image_FPN``, ``cond_FPN``) and the shared ``AFlowNet``.
- ``ResUnetGenerator``: a U-Net of residual blocks, 7 -> 64 -> 128 -> 256 -> 512 -> 512 channels,
  every key under ``model.``.

H and W must be multiples of 32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vtonpipe.models.common.appearance_flow import AFlowNet

ENCODER_CHANNELS = (64, 128, 256, 256, 256)
FPN_DIM = 256
GENERATOR_WIDTH = 64


class ResBlock(nn.Module):
    """Pre-activation residual block: BN, ReLU, conv, BN, ReLU, conv, plus the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + x


class DownSample(nn.Module):
    """BN, ReLU, 3x3 stride-2 conv."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.block = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class FeatureEncoder(nn.Module):
    """Five levels, each a DownSample and two ResBlocks; returns every level's output, fine to coarse."""

    def __init__(self, in_channels: int):
        super().__init__()
        widths = (in_channels, *ENCODER_CHANNELS)
        self.encoders = nn.ModuleList(
            nn.Sequential(DownSample(widths[i], widths[i + 1]), ResBlock(widths[i + 1]), ResBlock(widths[i + 1]))
            for i in range(len(ENCODER_CHANNELS)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for encoder in self.encoders:
            x = encoder(x)
            features.append(x)
        return features


class RefinePyramid(nn.Module):
    """1x1 ``adaptive`` convs to 256, coarse to fine, each added to the nearest-x2 upsampled
    previous smoothed level and smoothed by its own 3x3 conv. Returns fine to coarse."""

    def __init__(self):
        super().__init__()
        self.adaptive = nn.ModuleList(nn.Conv2d(c, FPN_DIM, 1) for c in reversed(ENCODER_CHANNELS))
        self.smooth = nn.ModuleList(nn.Conv2d(FPN_DIM, FPN_DIM, 3, padding=1) for _ in ENCODER_CHANNELS)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        levels: list[torch.Tensor] = []
        for adaptive, smooth, feature in zip(self.adaptive, self.smooth, reversed(features)):
            x = adaptive(feature)
            if levels:
                x = x + F.interpolate(levels[-1], scale_factor=2, mode="nearest")
            levels.append(smooth(x))
        return levels[::-1]


class AFWM(nn.Module):
    """Warp module: (person, masked garment) -> (warped garment, flow)."""

    def __init__(self):
        super().__init__()
        self.image_features = FeatureEncoder(3)
        self.cond_features = FeatureEncoder(3)
        self.image_FPN = RefinePyramid()
        self.cond_FPN = RefinePyramid()
        self.aflow_net = AFlowNet(len(ENCODER_CHANNELS), FPN_DIM)

    def forward(self, person: torch.Tensor, garment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        person_levels = self.cond_FPN(self.cond_features(person))
        garment_levels = self.image_FPN(self.image_features(garment))
        return self.aflow_net(garment, garment_levels, person_levels)


class ResidualBlock(nn.Module):
    """conv, BN, ReLU, conv, BN, plus the input, then ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                   nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.block(x) + x)


class SkipBlock(nn.Module):
    """One U-Net level (key ``model``): 3x3 stride-2 conv [BN] ReLU and two ResidualBlocks, the
    inner level, nearest x2 upsample and 3x3 conv; except at the outermost level, BN, ReLU and two
    more ResidualBlocks follow and the block's input is concatenated to its output. The innermost
    level has no BN after its down conv and no inner level."""

    def __init__(self, outer: int, inner: int, in_channels: int | None = None, submodule: nn.Module | None = None):
        super().__init__()
        self.outermost = in_channels is not None
        innermost = submodule is None
        down: list[nn.Module] = [nn.Conv2d(in_channels or outer, inner, 3, stride=2, padding=1, bias=False)]
        if not (self.outermost or innermost):
            down.append(nn.BatchNorm2d(inner))
        down += [nn.ReLU(), ResidualBlock(inner), ResidualBlock(inner)]
        middle = [] if innermost else [submodule]
        up: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest"),
                               nn.Conv2d(inner if innermost else 2 * inner, outer, 3, padding=1, bias=False)]
        if not self.outermost:
            up += [nn.BatchNorm2d(outer), nn.ReLU(), ResidualBlock(outer), ResidualBlock(outer)]
        self.model = nn.Sequential(*down, *middle, *up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class ResUnetGenerator(nn.Module):
    """Five-level residual U-Net, (B, 7, H, W) -> (B, 4, H, W)."""

    def __init__(self, in_channels: int = 7, out_channels: int = 4):
        super().__init__()
        w = GENERATOR_WIDTH
        block = SkipBlock(8 * w, 8 * w)
        for outer, inner in ((4 * w, 8 * w), (2 * w, 4 * w), (w, 2 * w)):
            block = SkipBlock(outer, inner, submodule=block)
        self.model = SkipBlock(out_channels, w, in_channels=in_channels, submodule=block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
