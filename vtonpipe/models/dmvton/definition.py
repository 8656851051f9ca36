"""DM-VTON's student networks in torch, with the official checkpoints' key names (export only).

- ``MobileAFWM``: two MobileNetV2 feature pyramids (``image_mobile`` for the garment,
  ``cond_mobile`` for the person) and the shared ``AFlowNet`` cascade.
- ``MobileUNet``: a MobileNetV2 encoder (``backbone.features``) with a transposed-conv decoder,
  7 input channels, 4 output channels.

Every pyramid applies one 3x3 smoothing conv to all five levels; its state dict lists that one
conv under ``smooth_layers.0`` to ``smooth_layers.4``. H and W must be multiples of 32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vtonpipe.models.common.appearance_flow import AFlowNet

FPN_DIM = 256
# (expansion, output channels, stride) of the pyramid's inverted-residual blocks.
PYRAMID_BLOCKS = ((1, 16, 1), (6, 24, 2), (6, 32, 2), (6, 64, 2), (6, 96, 2), (6, 160, 2), (6, 320, 1))
# The same for the generator's encoder; the decoder taps blocks 1, 2, 3 and 5.
ENCODER_BLOCKS = ((1, 16, 1), (6, 24, 2), (6, 32, 2), (6, 64, 2), (6, 96, 1), (6, 160, 2), (6, 320, 1))
ENCODER_STEM, ENCODER_TOP = 32, 512
# (transposed conv in, out, skip channels) of the decoder, coarse to fine.
DECODER = ((512, 96, 96), (96, 32, 32), (32, 24, 24), (24, 16, 16))


def conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU6()]


class InvertedResidual(nn.Module):
    """MobileNetV2 block without a residual path (no block of these networks has stride 1 and equal
    widths). With `always_expand` the 1x1 expansion conv is kept even at expansion 1 (the pyramids)."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int, always_expand: bool = False):
        super().__init__()
        hidden = cin * expansion
        expand = conv_bn_relu6(cin, hidden, 1) if expansion != 1 or always_expand else []
        self.conv = nn.Sequential(*expand, *conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                                  nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class MobilePyramid(nn.Module):
    """MobileNetV2 body, global-pooled top, lateral 1x1 convs on the five stride-2 blocks, a
    bilinear top-down path and one shared 3x3 smoothing conv. Returns five maps, fine to coarse,
    of `smooth_channels` (256 unless pruned) at 1/2 .. 1/32 of the input size."""

    def __init__(self, in_channels: int, smooth_channels: int = FPN_DIM):
        super().__init__()
        self.first_layer = nn.Sequential(*conv_bn_relu6(in_channels, 32, 3))
        blocks, cin = [], 32
        for expansion, cout, stride in PYRAMID_BLOCKS:
            blocks.append(nn.Sequential(InvertedResidual(cin, cout, stride, expansion, always_expand=True)))
            cin = cout
        self.inverted_residual_blocks = nn.ModuleList(blocks)
        self.top_layer = nn.Conv2d(PYRAMID_BLOCKS[-1][1], FPN_DIM, 1)
        lateral = [cout for _, cout, stride in PYRAMID_BLOCKS[:-1] if stride > 1]
        self.lateral_layers = nn.ModuleList(nn.Conv2d(c, FPN_DIM, 1) for c in lateral)
        smooth = nn.Conv2d(FPN_DIM, smooth_channels, 3, padding=1)
        self.smooth_layers = nn.ModuleList([smooth] * len(lateral))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.first_layer(x)
        laterals = []
        for (_, _, stride), block in zip(PYRAMID_BLOCKS, self.inverted_residual_blocks):
            x = block(x)
            if stride > 1:
                laterals.append(self.lateral_layers[len(laterals)](x))
        merged = self.top_layer(F.adaptive_avg_pool2d(x, 1))
        levels = []
        for lateral in reversed(laterals):
            merged = F.interpolate(merged, size=lateral.shape[2:], mode="bilinear", align_corners=False) + lateral
            levels.append(merged)
        return [self.smooth_layers[0](level) for level in reversed(levels)]


class MobileAFWM(nn.Module):
    """Warp module: (person, masked garment) -> (warped garment, flow).

    `smooth_channels` and `refine_hidden` are the pyramid width and the ``netRefine`` first-conv
    widths; they differ from 256 and 128 only in a pruned network.
    """

    def __init__(self, smooth_channels: int = FPN_DIM, refine_hidden: tuple[int, ...] | None = None):
        super().__init__()
        self.image_mobile = MobilePyramid(3, smooth_channels)
        self.cond_mobile = MobilePyramid(3, smooth_channels)
        self.aflow_net = AFlowNet(5, smooth_channels, correlation_divisor=FPN_DIM, refine_hidden=refine_hidden)

    def forward(self, person: torch.Tensor, garment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.aflow_net(garment, self.image_mobile(garment), self.cond_mobile(person))


class MobileNetV2Trunk(nn.Module):
    """Holds ``features``: stem, seven inverted-residual blocks, 1x1 conv to 512."""

    def __init__(self, in_channels: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(*conv_bn_relu6(in_channels, ENCODER_STEM, 3, 2))]
        cin = ENCODER_STEM
        for expansion, cout, stride in ENCODER_BLOCKS:
            layers.append(InvertedResidual(cin, cout, stride, expansion))
            cin = cout
        layers.append(nn.Sequential(*conv_bn_relu6(cin, ENCODER_TOP, 1)))
        self.features = nn.Sequential(*layers)


class MobileUNet(nn.Module):
    """Generator: skips after encoder layers 1, 2, 3 and 5; each decoder step is a 4x4 stride-2
    transposed conv, a concat with the skip and an inverted residual; then nearest x2 and a 3x3
    conv to the output channels."""

    SKIPS = (1, 2, 3, 5)

    def __init__(self, in_channels: int = 7, out_channels: int = 4):
        super().__init__()
        self.backbone = MobileNetV2Trunk(in_channels)
        for i, (cin, cout, skip) in enumerate(DECODER, start=1):
            setattr(self, f"dconv{i}", nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1))
            setattr(self, f"invres{i}", InvertedResidual(cout + skip, cout, 1, 6))
        self.conv_last = nn.Conv2d(DECODER[-1][1], out_channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, layer in enumerate(self.backbone.features):
            x = layer(x)
            if i in self.SKIPS:
                skips.append(x)
        for i, skip in enumerate(reversed(skips), start=1):
            x = getattr(self, f"invres{i}")(torch.cat([skip, getattr(self, f"dconv{i}")(x)], 1))
        return self.conv_last(F.interpolate(x, scale_factor=2, mode="nearest"))
