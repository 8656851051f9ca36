"""LPIPS-squeeze as one torch module (export only).

Parameter names follow the two official files, so their state_dicts load without renaming:
``features.N.*`` is torchvision's SqueezeNet-1.1 trunk and ``linK.model.1.weight`` the lpips
package's 1x1 "linear" heads (index 0 of each head is a parameter-free dropout). The forward
pass follows torchmetrics' LPIPS (net_type="squeeze", normalize=False): inputs in [-1, 1], the
lpips v0.1 scaling layer, unit-normalised trunk activations at seven taps, squared difference,
head, spatial mean, sum over taps.
"""

from __future__ import annotations

import torch
from torch import nn

# Trunk outputs used by LPIPS: after features[:2], [2:5], [5:8], [8:10], [10], [11], [12].
TAP_ENDS = (2, 5, 8, 10, 11, 12, 13)
TAP_CHANNELS = (64, 128, 256, 384, 384, 512, 512)
# lpips v0.1 input scaling (ImageNet statistics expressed for [-1, 1] inputs).
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
# torchmetrics adds eps inside the square root of the channel norm.
NORM_EPS = 1e-8


class Fire(nn.Module):
    """SqueezeNet fire block: 1x1 squeeze, then parallel 1x1 and 3x3 expands, concatenated."""

    def __init__(self, cin: int, squeeze: int, expand: int):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)


def squeezenet1_1_features() -> nn.Sequential:
    """torchvision's SqueezeNet-1.1 ``features`` (indices match the checkpoint keys)."""

    def pool() -> nn.MaxPool2d:
        return nn.MaxPool2d(3, stride=2, ceil_mode=True)

    return nn.Sequential(
        nn.Conv2d(3, 64, 3, stride=2),
        nn.ReLU(),
        pool(),
        Fire(64, 16, 64),
        Fire(128, 16, 64),
        pool(),
        Fire(128, 32, 128),
        Fire(256, 32, 128),
        pool(),
        Fire(256, 48, 192),
        Fire(384, 48, 192),
        Fire(384, 64, 256),
        Fire(512, 64, 256),
    )


class LinearHead(nn.Module):
    """A tap's learned channel weighting: a bias-free 1x1 conv (after an inference no-op dropout)."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LpipsSqueeze(nn.Module):
    """(img0, img1) in [-1, 1], shape (N, 3, H, W) -> (N,) LPIPS distances."""

    def __init__(self):
        super().__init__()
        self.features = squeezenet1_1_features()
        for k, channels in enumerate(TAP_CHANNELS):
            self.add_module(f"lin{k}", LinearHead(channels))
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, start = [], 0
        x = (x - self.shift) / self.scale
        for end in TAP_ENDS:
            for i in range(start, end):
                x = self.features[i](x)
            out.append(x)
            start = end
        return out

    def forward(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        terms = []
        for k, (a, b) in enumerate(zip(self.taps(img0), self.taps(img1))):
            a = a / torch.sqrt(NORM_EPS + (a * a).sum(dim=1, keepdim=True))
            b = b / torch.sqrt(NORM_EPS + (b * b).sum(dim=1, keepdim=True))
            head = getattr(self, f"lin{k}")
            terms.append(head((a - b) ** 2).mean(dim=(1, 2, 3)))
        return torch.stack(terms).sum(dim=0)
