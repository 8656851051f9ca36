"""DensePose R50-FPN (densepose_rcnn_R_50_FPN_s1x) as plain torch modules (convert extra only).

Module names follow the official ``model_final_162be9.pkl`` keys, so the checkpoint's state dict
loads as is. Only the inference graph lives here; the parts that are dynamic in detectron2
(anchors, proposal selection, NMS, ROIAlign, pasting) are numpy code in boxes.py/pooling.py/
runtime.py. The modules are grouped the way the OpenVINO split exports them (see export.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DensePoseConfig:
    """Widths and depths; the defaults are the official model, tiny.py shrinks them."""

    stem_channels: int = 64
    res2_out_channels: int = 256
    blocks: tuple[int, int, int, int] = (3, 4, 6, 3)
    fpn_channels: int = 256
    num_anchors: int = 3
    box_fc_dim: int = 1024
    box_pooler: int = 7
    decoder_dims: int = 256
    head_dim: int = 512
    head_convs: int = 8
    num_patches: int = 24
    coarse_channels: int = 2


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm with fixed statistics: an affine map (eps 1e-5), buffers named as detectron2's."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels) - eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)


class NormConv2d(nn.Conv2d):
    """Bias-free conv followed by frozen BN held as ``.norm`` (the key layout of the checkpoint)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.norm = FrozenBatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(super().forward(x))


class Stem(nn.Module):
    def __init__(self, out_channels: int):
        super().__init__()
        self.conv1 = NormConv2d(3, out_channels, 7, stride=2, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(F.relu(self.conv1(x)), kernel_size=3, stride=2, padding=1)


class Bottleneck(nn.Module):
    """MSRA bottleneck: the stride sits in the first 1x1 conv (detectron2 STRIDE_IN_1X1)."""

    def __init__(self, cin: int, width: int, cout: int, stride: int):
        super().__init__()
        self.shortcut = NormConv2d(cin, cout, 1, stride=stride) if cin != cout else None
        self.conv1 = NormConv2d(cin, width, 1, stride=stride)
        self.conv2 = NormConv2d(width, width, 3, padding=1)
        self.conv3 = NormConv2d(width, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        out = self.conv3(out)
        return F.relu(out + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet(nn.Module):
    """ResNet bottom-up path with stages res2..res5 (strides 4, 8, 16, 32)."""

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.stem = Stem(cfg.stem_channels)
        cin, width, cout = cfg.stem_channels, cfg.res2_out_channels // 4, cfg.res2_out_channels
        self.stage_names = []
        for idx, depth in enumerate(cfg.blocks):
            name = f"res{idx + 2}"
            blocks = [Bottleneck(cin if b == 0 else cout, width, cout, 2 if (b == 0 and idx > 0) else 1)
                      for b in range(depth)]
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
            cin, width, cout = cout, width * 2, cout * 2
        self.out_channels = [cfg.res2_out_channels * 2**i for i in range(4)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        outs = []
        for name in self.stage_names:
            x = getattr(self, name)(x)
            outs.append(x)
        return outs


class FPNBackbone(nn.Module):
    """``backbone``: bottom_up ResNet + FPN laterals/outputs -> p2..p6 (p6 = stride-2 subsample of p5)."""

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.bottom_up = ResNet(cfg)
        for level, cin in zip(range(2, 6), self.bottom_up.out_channels):
            self.add_module(f"fpn_lateral{level}", nn.Conv2d(cin, cfg.fpn_channels, 1))
            self.add_module(f"fpn_output{level}", nn.Conv2d(cfg.fpn_channels, cfg.fpn_channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        res = self.bottom_up(x)
        prev = self.fpn_lateral5(res[3])
        outs = [self.fpn_output5(prev)]
        for level in (4, 3, 2):
            prev = getattr(self, f"fpn_lateral{level}")(res[level - 2]) + F.interpolate(
                prev, scale_factor=2.0, mode="nearest"
            )
            outs.insert(0, getattr(self, f"fpn_output{level}")(prev))
        outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return outs


class RPNHead(nn.Module):
    """Shared 3x3 conv + ReLU, then per-anchor objectness logits and box deltas on every level."""

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.conv = nn.Conv2d(cfg.fpn_channels, cfg.fpn_channels, 3, padding=1)
        self.objectness_logits = nn.Conv2d(cfg.fpn_channels, cfg.num_anchors, 1)
        self.anchor_deltas = nn.Conv2d(cfg.fpn_channels, cfg.num_anchors * 4, 1)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        outs = []
        for f in features:
            t = F.relu(self.conv(f))
            outs += [self.objectness_logits(t), self.anchor_deltas(t)]
        return outs


class ProposalGenerator(nn.Module):
    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.rpn_head = RPNHead(cfg)


class BoxHead(nn.Module):
    """FastRCNNConvFCHead with two fc layers over flattened (C, 7, 7) pooled features."""

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.fpn_channels * cfg.box_pooler**2, cfg.box_fc_dim)
        self.fc2 = nn.Linear(cfg.box_fc_dim, cfg.box_fc_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc2(F.relu(self.fc1(x.flatten(1)))))


class BoxPredictor(nn.Module):
    """Class logits (person, background) and person box deltas."""

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.cls_score = nn.Linear(cfg.box_fc_dim, 2)
        self.bbox_pred = nn.Linear(cfg.box_fc_dim, 4)


class Decoder(nn.Module):
    """Panoptic-FPN style merge of p2..p5 to stride 4: conv+ReLU (+bilinear x2) chains, summed, 1x1 conv.

    Sub-module indices skip the upsampling steps (``p4.0``, ``p4.2``), matching the checkpoint.
    """

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        dims = cfg.decoder_dims
        for level in range(2, 6):
            ops: list[nn.Module] = []
            for k in range(max(1, level - 2)):
                ops.append(nn.Conv2d(cfg.fpn_channels if k == 0 else dims, dims, 3, padding=1))
                ops.append(nn.ReLU())
                if level > 2:
                    ops.append(nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False))
            self.add_module(f"p{level}", _IndexedChain(ops))
        self.predictor = nn.Conv2d(dims, dims, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = self.p2(features[0])
        for level, f in zip(range(3, 6), features[1:4]):
            x = x + getattr(self, f"p{level}")(f)
        return self.predictor(x)


class _IndexedChain(nn.Module):
    """Conv/ReLU/upsample ops run in order; each conv is registered under its index in a list
    with one entry per conv (ReLU folded in) and one per upsample, as the checkpoint names them."""

    def __init__(self, ops: list[nn.Module]):
        super().__init__()
        self.ops = []
        index = 0
        for op in ops:
            if isinstance(op, nn.Conv2d):
                self.add_module(str(index), op)
                index += 1
            elif isinstance(op, nn.Upsample):
                index += 1
            self.ops.append(op)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            x = op(x)
        return x


class DensePoseHead(nn.Module):
    """DensePoseV1ConvXHead: stacked 3x3 conv + ReLU layers named body_conv_fcn1..N."""

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.n = cfg.head_convs
        cin = cfg.decoder_dims
        for i in range(self.n):
            self.add_module(f"body_conv_fcn{i + 1}", nn.Conv2d(cin, cfg.head_dim, 3, padding=1))
            cin = cfg.head_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.n):
            x = F.relu(getattr(self, f"body_conv_fcn{i + 1}")(x))
        return x


class DensePosePredictor(nn.Module):
    """Chart predictor: four k4 s2 transposed convs, each followed by bilinear x2 upsampling."""

    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        parts = cfg.num_patches + 1
        self.ann_index_lowres = nn.ConvTranspose2d(cfg.head_dim, cfg.coarse_channels, 4, stride=2, padding=1)
        self.index_uv_lowres = nn.ConvTranspose2d(cfg.head_dim, parts, 4, stride=2, padding=1)
        self.u_lowres = nn.ConvTranspose2d(cfg.head_dim, parts, 4, stride=2, padding=1)
        self.v_lowres = nn.ConvTranspose2d(cfg.head_dim, parts, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [
            F.interpolate(layer(x), scale_factor=2.0, mode="bilinear", align_corners=False)
            for layer in (self.ann_index_lowres, self.index_uv_lowres, self.u_lowres, self.v_lowres)
        ]


class ROIHeads(nn.Module):
    def __init__(self, cfg: DensePoseConfig):
        super().__init__()
        self.box_head = BoxHead(cfg)
        self.box_predictor = BoxPredictor(cfg)
        self.decoder = Decoder(cfg)
        self.densepose_head = DensePoseHead(cfg)
        self.densepose_predictor = DensePosePredictor(cfg)


class DensePoseRCNN(nn.Module):
    """The whole checkpoint: ``backbone``, ``proposal_generator``, ``roi_heads``."""

    def __init__(self, cfg: DensePoseConfig | None = None):
        super().__init__()
        self.cfg = cfg or DensePoseConfig()
        self.backbone = FPNBackbone(self.cfg)
        self.proposal_generator = ProposalGenerator(self.cfg)
        self.roi_heads = ROIHeads(self.cfg)


# -- the exported pieces (one OpenVINO IR each) -------------------------------------------------


class BackboneGraph(nn.Module):
    """IR ``backbone``: normalised BGR canvas -> p2..p5 and RPN (logits, deltas) for p2..p6."""

    def __init__(self, model: DensePoseRCNN):
        super().__init__()
        self.backbone = model.backbone
        self.rpn_head = model.proposal_generator.rpn_head

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = self.backbone(image)
        return (*feats[:4], *self.rpn_head(feats))


class BoxGraph(nn.Module):
    """IR ``box_head``: pooled (N, C, 7, 7) -> class logits (N, 2), deltas (N, 4)."""

    def __init__(self, model: DensePoseRCNN):
        super().__init__()
        self.box_head = model.roi_heads.box_head
        self.box_predictor = model.roi_heads.box_predictor

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.box_head(pooled)
        return self.box_predictor.cls_score(x), self.box_predictor.bbox_pred(x)


class DecoderGraph(nn.Module):
    """IR ``decoder``: p2..p5 -> one stride-4 feature map that the DensePose branch pools from."""

    def __init__(self, model: DensePoseRCNN):
        super().__init__()
        self.decoder = model.roi_heads.decoder

    def forward(self, p2: torch.Tensor, p3: torch.Tensor, p4: torch.Tensor, p5: torch.Tensor) -> torch.Tensor:
        return self.decoder([p2, p3, p4, p5])


class DensePoseGraph(nn.Module):
    """IR ``densepose_head``: pooled (N, C, 28, 28) -> coarse, fine, u, v at 112x112."""

    def __init__(self, model: DensePoseRCNN):
        super().__init__()
        self.head = model.roi_heads.densepose_head
        self.predictor = model.roi_heads.densepose_predictor

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.predictor(self.head(pooled)))
