"""SCHP's AugmentCE2P network (ResNet-101 deep stem, PSP, decoder, edge and fusion heads) in torch.

Module and parameter names follow the official checkpoints, so their state_dicts (after the
``module.`` prefix is stripped) load with no renaming. The InPlaceABN layers of the original are
``ActivatedBatchNorm`` here: inference BatchNorm with InPlaceABN's parameter names and arithmetic,
plus LeakyReLU(0.01) where the original activates. Used for export only; inference runs from the
OpenVINO IR.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class SCHPConfig:
    """Shape of the network. ``width`` is the stem width (64 in the official model); every other
    channel count scales with it. ``layers`` is the number of bottleneck blocks per ResNet stage."""

    num_classes: int = 20
    width: int = 64
    layers: tuple[int, int, int, int] = (3, 4, 23, 3)

    def ch(self, official: int) -> int:
        """The channel count that is `official` in the full-width model."""
        return max(1, official * self.width // 64)


class ActivatedBatchNorm(nn.Module):
    """Inference BatchNorm + optional LeakyReLU, with InPlaceABN's parameter names and semantics.

    InPlaceABN scales by ``|weight| + eps`` rather than ``weight`` (its in-place backward pass
    needs an invertible affine); the official weights were trained under that rule, so it is kept.
    Like InPlaceABN it holds no ``num_batches_tracked`` buffer.
    """

    def __init__(self, num_features: int, activation: bool = True, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.activation = activation
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = self.weight.abs() + self.eps
        x = F.batch_norm(x, self.running_mean, self.running_var, gamma, self.bias, False, 0.0, self.eps)
        return F.leaky_relu(x, LEAKY_SLOPE) if self.activation else x


def _plain_bn(num_features: int) -> ActivatedBatchNorm:
    """The backbone's normalisation: no activation (ReLU follows separately)."""
    return ActivatedBatchNorm(num_features, activation=False)


def _conv_abn(cin: int, cout: int, kernel: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), ActivatedBatchNorm(cout)]


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = _plain_bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = _plain_bn(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = _plain_bn(planes * 4)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class PSPModule(nn.Module):
    """Pyramid pooling over bins 1, 2, 3 and 6, concatenated with the input and fused by a 3x3 conv."""

    def __init__(self, features: int, out_features: int, sizes=(1, 2, 3, 6)):
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(size), *_conv_abn(features, out_features)) for size in sizes
        )
        self.bottleneck = nn.Sequential(*_conv_abn(features + len(sizes) * out_features, out_features, 3))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        size = feats.shape[2:]
        priors = [_resize(stage(feats), size) for stage in self.stages]
        return self.bottleneck(torch.cat([*priors, feats], 1))


class EdgeModule(nn.Module):
    """Edge branch on layers 1-3: per-level 2-class edge maps and their features at layer-1 size."""

    def __init__(self, in_features: tuple[int, int, int], mid: int, out: int = 2):
        super().__init__()
        self.conv1 = nn.Sequential(*_conv_abn(in_features[0], mid))
        self.conv2 = nn.Sequential(*_conv_abn(in_features[1], mid))
        self.conv3 = nn.Sequential(*_conv_abn(in_features[2], mid))
        self.conv4 = nn.Conv2d(mid, out, 3, padding=1)
        self.conv5 = nn.Conv2d(out * 3, out, 1)

    def forward(self, x1, x2, x3):
        size = x1.shape[2:]
        f1, f2, f3 = self.conv1(x1), self.conv2(x2), self.conv3(x3)
        edges = [self.conv4(f1), _resize(self.conv4(f2), size), _resize(self.conv4(f3), size)]
        feats = [f1, _resize(f2, size), _resize(f3, size)]
        return self.conv5(torch.cat(edges, 1)), torch.cat(feats, 1)


class DecoderModule(nn.Module):
    """Parsing decoder: context features upsampled to layer-1 size and fused with a low-level skip."""

    def __init__(self, cfg: SCHPConfig):
        super().__init__()
        c256, c48 = cfg.ch(256), cfg.ch(48)
        self.conv1 = nn.Sequential(*_conv_abn(cfg.ch(512), c256))
        self.conv2 = nn.Sequential(*_conv_abn(c256, c48))
        self.conv3 = nn.Sequential(*_conv_abn(c256 + c48, c256), *_conv_abn(c256, c256))
        self.conv4 = nn.Conv2d(c256, cfg.num_classes, 1)

    def forward(self, context, low):
        x = torch.cat([_resize(self.conv1(context), low.shape[2:]), self.conv2(low)], 1)
        x = self.conv3(x)
        return self.conv4(x), x


class SCHPNet(nn.Module):
    """AugmentCE2P. ``forward`` returns the fusion-head logits at 1/4 of the input resolution."""

    def __init__(self, cfg: SCHPConfig = SCHPConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.conv1 = nn.Conv2d(3, w, 3, 2, 1, bias=False)
        self.bn1 = _plain_bn(w)
        self.conv2 = nn.Conv2d(w, w, 3, 1, 1, bias=False)
        self.bn2 = _plain_bn(w)
        self.conv3 = nn.Conv2d(w, 2 * w, 3, 1, 1, bias=False)
        self.bn3 = _plain_bn(2 * w)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes = 2 * w
        self.layer1 = self._make_layer(w, cfg.layers[0])
        self.layer2 = self._make_layer(2 * w, cfg.layers[1], stride=2)
        self.layer3 = self._make_layer(4 * w, cfg.layers[2], stride=2)
        # Output stride 16: the last stage trades stride for dilation.
        self.layer4 = self._make_layer(8 * w, cfg.layers[3], dilation=2)
        self.context_encoding = PSPModule(32 * w, cfg.ch(512))
        self.edge = EdgeModule((4 * w, 8 * w, 16 * w), cfg.ch(256))
        self.decoder = DecoderModule(cfg)
        # Index 2 is the training-time Dropout2d of the original; an identity keeps index 3's name.
        self.fushion = nn.Sequential(
            *_conv_abn(4 * cfg.ch(256), cfg.ch(256)),
            nn.Identity(),
            nn.Conv2d(cfg.ch(256), cfg.num_classes, 1),
        )

    def _make_layer(self, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride, bias=False),
                _plain_bn(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, dilation, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes, dilation=dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x1 = self.layer1(self.maxpool(x))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        context = self.context_encoding(self.layer4(x3))
        _, parsing_feats = self.decoder(context, x1)
        _, edge_feats = self.edge(x1, x2, x3)
        return self.fushion(torch.cat([parsing_feats, edge_feats], 1))


class SCHPParser(nn.Module):
    """What the IR holds: fusion logits upsampled (bilinear, corner-aligned) to the input size."""

    def __init__(self, net: SCHPNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return _resize(self.net(image), image.shape[2:])
