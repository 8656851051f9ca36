"""The OpenPose COCO body network (VGG-19 front, then six two-branch CPM stages) in torch.

Children of every block are named after the Caffe layers, so the state_dict keys are
``<block>.<caffe layer>.<weight|bias>`` (``model0.conv1_1.weight``, ``model6_2.Mconv7_stage6_L2.bias``);
the published ``body_pose_model.pth`` holds the same tensors keyed by the Caffe layer name alone.

Every conv is followed by a ReLU except the stage outputs; the PyTorch port in use everywhere
names ``Mconv7_stage6_L1`` twice in its no-ReLU list and leaves ``Mconv7_stage6_L2`` out, so the
final heatmaps are rectified while every other stage output (final PAFs included) is linear. The
weights are only correct with that ReLU, so it is kept. Used for export only.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from vtonpipe.labels.pose import NUM_HEATMAP_CHANNELS, NUM_PAF_CHANNELS

NUM_STAGES = 6
STAGE_OUTPUTS = NUM_PAF_CHANNELS + NUM_HEATMAP_CHANNELS  # 57 channels fed back to every stage


@dataclass(frozen=True)
class BodyPoseConfig:
    """Channel widths. The official model has ``width`` 64 (VGG 64-128-256-512, a 128-channel
    feature, 128-channel stages); every width scales with it, the outputs stay 38 and 19."""

    width: int = 64

    def ch(self, official: int) -> int:
        return max(1, official * self.width // 64)

    @property
    def feature(self) -> int:
        """Channels of the VGG/CPM feature every stage reads (128 in the official model)."""
        return self.ch(128)


def _conv(cin: int, cout: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=1, padding=kernel // 2)


def _block(layers: list[tuple[str, nn.Module]], linear_last: bool) -> nn.Sequential:
    """Layers in order with a ReLU named ``relu_<layer>`` after every conv (bar a linear last one)."""
    named: list[tuple[str, nn.Module]] = []
    for i, (name, layer) in enumerate(layers):
        named.append((name, layer))
        if isinstance(layer, nn.Conv2d) and not (linear_last and i == len(layers) - 1):
            named.append((f"relu_{name}", nn.ReLU(inplace=True)))
    return nn.Sequential(OrderedDict(named))


def _front(cfg: BodyPoseConfig) -> nn.Sequential:
    c64, c128, c256, c512 = cfg.ch(64), cfg.ch(128), cfg.ch(256), cfg.ch(512)
    pool = lambda: nn.MaxPool2d(kernel_size=2, stride=2, padding=0)  # noqa: E731
    return _block([
        ("conv1_1", _conv(3, c64, 3)), ("conv1_2", _conv(c64, c64, 3)), ("pool1_stage1", pool()),
        ("conv2_1", _conv(c64, c128, 3)), ("conv2_2", _conv(c128, c128, 3)), ("pool2_stage1", pool()),
        ("conv3_1", _conv(c128, c256, 3)), ("conv3_2", _conv(c256, c256, 3)),
        ("conv3_3", _conv(c256, c256, 3)), ("conv3_4", _conv(c256, c256, 3)), ("pool3_stage1", pool()),
        ("conv4_1", _conv(c256, c512, 3)), ("conv4_2", _conv(c512, c512, 3)),
        ("conv4_3_CPM", _conv(c512, c256, 3)), ("conv4_4_CPM", _conv(c256, cfg.feature, 3)),
    ], linear_last=False)  # fmt: skip


def _stage1(cfg: BodyPoseConfig, branch: int, outputs: int) -> nn.Sequential:
    c128, c512 = cfg.ch(128), cfg.ch(512)
    return _block([
        (f"conv5_1_CPM_L{branch}", _conv(cfg.feature, c128, 3)),
        (f"conv5_2_CPM_L{branch}", _conv(c128, c128, 3)),
        (f"conv5_3_CPM_L{branch}", _conv(c128, c128, 3)),
        (f"conv5_4_CPM_L{branch}", _conv(c128, c512, 1)),
        (f"conv5_5_CPM_L{branch}", _conv(c512, outputs, 1)),
    ], linear_last=True)  # fmt: skip


def _refine(cfg: BodyPoseConfig, stage: int, branch: int, outputs: int, linear_last: bool) -> nn.Sequential:
    c128 = cfg.ch(128)
    layers = [(f"Mconv1_stage{stage}_L{branch}", _conv(STAGE_OUTPUTS + cfg.feature, c128, 7))]
    layers += [(f"Mconv{i}_stage{stage}_L{branch}", _conv(c128, c128, 7)) for i in range(2, 6)]
    layers += [(f"Mconv6_stage{stage}_L{branch}", _conv(c128, c128, 1)),
               (f"Mconv7_stage{stage}_L{branch}", _conv(c128, outputs, 1))]
    return _block(layers, linear_last=linear_last)


class BodyPoseNet(nn.Module):
    """``forward(x)`` -> (PAFs [N,38,H/8,W/8], heatmaps [N,19,H/8,W/8]) of the last stage.

    x is the BGR image scaled to ``pixel/256 - 0.5``. Stage t >= 2 reads the channel concat
    [PAFs of stage t-1, heatmaps of stage t-1, feature].
    """

    def __init__(self, cfg: BodyPoseConfig = BodyPoseConfig()):
        super().__init__()
        self.cfg = cfg
        self.model0 = _front(cfg)
        # Registered as upstream does (all PAF blocks, then all heatmap blocks): same state_dict order.
        for branch, outputs in ((1, NUM_PAF_CHANNELS), (2, NUM_HEATMAP_CHANNELS)):
            for stage in range(1, NUM_STAGES + 1):
                if stage == 1:
                    block = _stage1(cfg, branch, outputs)
                else:
                    # The port's ReLU typo: only the last heatmap conv keeps its ReLU.
                    final_heatmaps = stage == NUM_STAGES and branch == 2
                    block = _refine(cfg, stage, branch, outputs, linear_last=not final_heatmaps)
                self.add_module(f"model{stage}_{branch}", block)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.model0(x)
        pafs, heatmaps = self.model1_1(feature), self.model1_2(feature)
        for stage in range(2, NUM_STAGES + 1):
            joined = torch.cat([pafs, heatmaps, feature], 1)
            pafs = getattr(self, f"model{stage}_1")(joined)
            heatmaps = getattr(self, f"model{stage}_2")(joined)
        return pafs, heatmaps
