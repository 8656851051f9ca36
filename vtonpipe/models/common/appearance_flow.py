"""Appearance-flow try-on in torch, shared by DM-VTON and PF-AFN (the `convert` extra).

Both families estimate a dense flow from person features to garment features with the same
cascade (``AFlowNet``) and compose the try-on the same way (``ParserFreeTryOn``); only their
feature pyramids and generators differ. Conventions:

- The cost volume is a 7x7 local correlation in plain ops (pad, slices, MatMul, reshapes), so it
  exports to OpenVINO without a custom op.
- A flow is a (B, 2, H, W) map of normalised sampling coordinates into the garment, x then y.
- Every grid_sample is bilinear with ``align_corners=True``, the convention both models were
  trained with (DM-VTON passes it explicitly; PF-AFN was trained on torch 1.1, whose grid_sample
  always behaved that way). Features and flows are sampled with border padding, the garment mask
  with zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_DISPLACEMENT = 3  # the 7x7 window: displacements -3..3 in both directions
CORRELATION_CHANNELS = (2 * MAX_DISPLACEMENT + 1) ** 2
ALIGN_CORNERS = True
LEAKY_SLOPE = 0.1
MASK_THRESHOLD = 0.5


def correlation(first: torch.Tensor, second: torch.Tensor, divisor: int | None = None) -> torch.Tensor:
    """7x7 cost volume of two (B, C, H, W) maps: (B, 49, H, W).

    ``out[:, k, y, x] = sum_c first[:, c, y, x] * second[:, c, y + dy, x + dx] / divisor`` with
    ``k = (dy + 3) * 7 + (dx + 3)`` (dy is the slow index) and ``second`` read as 0 outside the
    map. `divisor` defaults to C; a pruned network keeps its original channel count here so the
    cost volume keeps its trained scale.

    Computed as banded matrix products rather than 49 shifted slices: for every row y, the
    (W x C) row of `first` times the C x 7(W+6) matrix of the zero-padded rows y-3 .. y+3 of
    `second` side by side holds every column pair, and the 7 diagonals x' = x .. x+6 of each
    W x (W+6) block are the dx = -3..3 values (read off by padding the flattened product by W and
    viewing it with one more column per row). This costs (W + 6) / 7 times the multiply-adds but
    runs as one batched MatMul, several times faster in OpenVINO on CPU than the memory-bound
    slice/multiply/reduce form.
    """
    d = MAX_DISPLACEMENT
    window = 2 * d + 1
    b, c, h, w = first.shape
    n = w + 2 * d
    rows = F.pad(second, (d, d, d, d)).permute(0, 2, 1, 3)  # (B, H+6, C, W+6)
    stacked = torch.stack([rows[:, dy : dy + h] for dy in range(window)], 3).reshape(b, h, c, window * n)
    scaled = (first / float(divisor or c)).permute(0, 2, 3, 1)  # (B, H, W, C)
    products = torch.matmul(scaled, stacked)  # (B, H, W, 7 (W+6)): [x, dy, x'] pairs x with x' - 3
    flat = F.pad(products.reshape(b, h, w * window * n), (0, w)).reshape(b, h, w, window * n + 1)
    bands = flat[..., : window * n].reshape(b, h, w, window, n)[..., :window]  # (B, H, W, 7 dy, 7 dx)
    return bands.permute(0, 3, 4, 1, 2).reshape(b, window * window, h, w)


def sample(source: torch.Tensor, grid: torch.Tensor, padding: str = "border") -> torch.Tensor:
    """Bilinear grid_sample of `source` at a (B, H, W, 2) grid, corners aligned."""
    return F.grid_sample(source, grid, mode="bilinear", padding_mode=padding, align_corners=ALIGN_CORNERS)


def warp(source: torch.Tensor, flow: torch.Tensor, padding: str = "border") -> torch.Tensor:
    """`source` sampled at a (B, 2, H, W) flow."""
    return sample(source, flow.permute(0, 2, 3, 1), padding)


def offset_grid(offset: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) offsets in pixels of this level -> (B, H, W, 2) normalised sampling grid.

    Pixel indices plus offsets are normalised by (size - 1) / 2, the corner-aligned convention.
    """
    height, width = offset.shape[2], offset.shape[3]
    ys = torch.arange(height, dtype=offset.dtype, device=offset.device).view(1, height, 1)
    xs = torch.arange(width, dtype=offset.dtype, device=offset.device).view(1, 1, width)
    gx = (xs + offset[:, 0]) / ((width - 1.0) / 2.0) - 1.0
    gy = (ys + offset[:, 1]) / ((height - 1.0) / 2.0) - 1.0
    return torch.stack([gx, gy], dim=-1)


def flow_head(in_channels: int, hidden: int = 128) -> nn.Sequential:
    """3x3 convs in_channels -> hidden -> 64 -> 32 -> 2 with LeakyReLU(0.1) between them."""
    widths = [in_channels, hidden, 64, 32, 2]
    layers: list[nn.Module] = []
    for i in range(4):
        if i:
            layers.append(nn.LeakyReLU(LEAKY_SLOPE))
        layers.append(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1))
    return nn.Sequential(*layers)


class AFlowNet(nn.Module):
    """The coarse-to-fine flow cascade over a 5-level pyramid (keys ``netMain.i.*``, ``netRefine.i.*``).

    At each level, coarse to fine: warp the garment features with the previous flow, correlate
    them with the person features, ``netMain`` predicts an offset that is composed with the
    previous flow; the garment features warped by that flow and the person features then go
    through ``netRefine`` for a second composed offset; the flow is upsampled x2 (bilinear,
    corners not aligned). Finally the garment image is warped with the full-size flow.

    `fpn_dim` is the pyramid width, `correlation_divisor` the width the cost volume is
    normalised by (the original width of a pruned network), `refine_hidden[i]` the width of
    ``netRefine[i]``'s first conv.
    """

    def __init__(self, levels: int = 5, fpn_dim: int = 256, *, correlation_divisor: int | None = None,
                 refine_hidden: tuple[int, ...] | None = None):
        super().__init__()
        refine_hidden = refine_hidden or (128,) * levels
        self.correlation_divisor = correlation_divisor or fpn_dim
        self.netMain = nn.ModuleList(flow_head(CORRELATION_CHANNELS) for _ in range(levels))
        self.netRefine = nn.ModuleList(flow_head(2 * fpn_dim, refine_hidden[i]) for i in range(levels))

    def forward(self, garment: torch.Tensor, garment_features: list[torch.Tensor],
                person_features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(garment warped by the flow, flow), pyramids given fine to coarse."""
        flow = None
        for i, (g_feat, p_feat) in enumerate(zip(reversed(garment_features), reversed(person_features))):
            moved = g_feat if flow is None else warp(g_feat, flow)
            cost = F.leaky_relu(correlation(moved, p_feat, self.correlation_divisor), LEAKY_SLOPE)
            grid = offset_grid(self.netMain[i](cost))
            flow = grid.permute(0, 3, 1, 2) if flow is None else sample(flow, grid)
            refined = self.netRefine[i](torch.cat([warp(g_feat, flow), p_feat], 1))
            flow = sample(flow, offset_grid(refined))
            flow = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=False)
        return warp(garment, flow), flow


class ParserFreeTryOn(nn.Module):
    """The test-time try-on of both families: one module, one IR.

    Inputs: person and garment (B, 3, H, W) in [-1, 1], garment mask (B, 1, H, W) in [0, 1].
    The mask is binarised at 0.5 and the garment multiplied by it; the warp module maps (person,
    masked garment) to (warped garment, flow); the mask is warped with zero padding; the generator
    sees [person, warped garment, warped mask] and returns 3 render channels and 1 composition
    channel. Output: warped garment * m + tanh(render) * (1 - m), m = sigmoid(composition) *
    warped mask, in [-1, 1].
    """

    def __init__(self, warp_module: nn.Module, generator: nn.Module):
        super().__init__()
        self.warp_module = warp_module
        self.generator = generator

    def forward(self, person: torch.Tensor, garment: torch.Tensor, garment_mask: torch.Tensor) -> torch.Tensor:
        mask = (garment_mask > MASK_THRESHOLD).to(garment.dtype)
        warped_garment, flow = self.warp_module(person, garment * mask)
        warped_mask = warp(mask, flow, padding="zeros")
        out = self.generator(torch.cat([person, warped_garment, warped_mask], 1))
        render, composition = torch.tanh(out[:, :3]), torch.sigmoid(out[:, 3:4]) * warped_mask
        return warped_garment * composition + render * (1 - composition)


def offset_convs(levels: int = 5, full_size_px: float = 3.0) -> dict[str, float]:
    """The convs whose outputs are pixel offsets (the last conv of every head), each mapped to the
    offset deviation, in pixels of its level, that moves `full_size_px` pixels at full size
    (level i of `levels` runs at 1 / 2 ** (levels - i) of the input size)."""
    return {f"aflow_net.{head}.{i}.6": full_size_px / 2 ** (levels - i)
            for head in ("netMain", "netRefine") for i in range(levels)}
