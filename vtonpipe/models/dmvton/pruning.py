"""Structured channel pruning of DM-VTON's warp module, without fine-tuning.

About 63 % of DM-VTON's FLOPs at 256x192 are three 3x3 convolutions at 1/2 resolution: each
pyramid's shared 256->256 smoothing conv and the 512->128 first conv of the finest refine head
(``aflow_net.netRefine.4.0``). Pruning at ratio r drops the fraction r of

- the smoothing output channels: one channel set for both pyramids, since the correlation pairs
  garment and person channels one to one; every refine head loses the matching input channels,
  and the cost volume keeps dividing by the original 256 so its scale is unchanged;
- ``netRefine.4.0``'s output channels, and the matching inputs of ``netRefine.4.2``.

Channels are ranked by the L1 norm of their filters (for the smoothing set, the sum over both
pyramids of each norm relative to that pyramid's mean). Without fine-tuning the warp degrades
with r; measure the result before use.
"""

from __future__ import annotations

from typing import Any

import torch

from vtonpipe.errors import ConfigError
from vtonpipe.models.dmvton.definition import FPN_DIM, MobileAFWM

LEVELS = 5
FINEST = LEVELS - 1
REFINE_HIDDEN = 128


def kept_count(total: int, ratio: float) -> int:
    return max(1, round(total * (1.0 - ratio)))


def _l1_rank(weight: torch.Tensor) -> torch.Tensor:
    norms = weight.abs().flatten(1).sum(1)
    return norms / norms.mean()


def smoothing_channels(state: dict[str, torch.Tensor], keep: int) -> torch.Tensor:
    """Sorted indices of the `keep` smoothing channels kept in both pyramids."""
    score = sum(_l1_rank(state[f"{p}.smooth_layers.0.weight"]) for p in ("image_mobile", "cond_mobile"))
    return torch.topk(score, keep).indices.sort().values


def refine_channels(state: dict[str, torch.Tensor], keep: int) -> torch.Tensor:
    """Sorted indices of the `keep` output channels kept in ``netRefine.4.0``."""
    return torch.topk(_l1_rank(state[f"aflow_net.netRefine.{FINEST}.0.weight"]), keep).indices.sort().values


def pruned_state(state: dict[str, torch.Tensor], smooth: torch.Tensor, refine: torch.Tensor) -> dict[str, torch.Tensor]:
    """`state` restricted to the kept channels (a new dict; other tensors are shared)."""
    refine_inputs = torch.cat([smooth, smooth + FPN_DIM])
    out = dict(state)
    for key, value in state.items():
        if ".smooth_layers." in key:
            out[key] = value[smooth]
        elif key.startswith("aflow_net.netRefine.") and key.endswith(".0.weight"):
            out[key] = value[:, refine_inputs]
    head = f"aflow_net.netRefine.{FINEST}"
    out[f"{head}.0.weight"] = out[f"{head}.0.weight"][refine]
    out[f"{head}.0.bias"] = state[f"{head}.0.bias"][refine]
    out[f"{head}.2.weight"] = state[f"{head}.2.weight"][:, refine]
    return {k: v.clone() for k, v in out.items()}


def prune_warp(warp: MobileAFWM, ratio: float) -> tuple[MobileAFWM, dict[str, Any]]:
    """A narrower copy of `warp` (eval mode) and the widths to record in model.json."""
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"--prune must be a ratio between 0 and 1 (the fraction of channels dropped), got {ratio}")
    state = warp.state_dict()
    smooth = smoothing_channels(state, kept_count(FPN_DIM, ratio))
    refine = refine_channels(state, kept_count(REFINE_HIDDEN, ratio))
    hidden = (REFINE_HIDDEN,) * FINEST + (len(refine),)
    pruned = MobileAFWM(smooth_channels=len(smooth), refine_hidden=hidden)
    pruned.load_state_dict(pruned_state(state, smooth, refine), strict=True)
    widths = {
        "ratio": ratio,
        "fine_tuned": False,
        "smooth_channels": [FPN_DIM, len(smooth)],
        f"netRefine.{FINEST}.0": [REFINE_HIDDEN, len(refine)],
        "correlation_divisor": FPN_DIM,
    }
    return pruned.eval(), widths
