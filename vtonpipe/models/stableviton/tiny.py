"""Tiny StableVITON preset: the official architecture and checkpoint layout (every key of the
released VITONHD.ckpt, `lastzc` and the schedule buffers included) at small widths, with seeded
random weights, converted through the same load_checkpoint -> export_ir path as real weights.

Widths: UNet model_channels 32 (GroupNorm's 32 groups allow no less) with the released
structure (4 levels of 2 res blocks: 9 warp blocks), VAE ch 32 with ch_mult (1, 2, 2, 2) and
one res block per level, a 2-layer CLIP tower of width 1024 and a 1-block mapper (final_ln,
proj_out and learnable_vector keep their released sizes: the official code hard-codes width
1024). Image sizes must be multiples of 64 (the smallest: 64x64 and 128x64).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase
from vtonpipe.models.stableviton.config import StableVITONConfig
from vtonpipe.models.stableviton.definition import StableVITON, official_schedule
from vtonpipe.models.stableviton.image_encoder import ImageEncoderConfig
from vtonpipe.models.stableviton.unet import UNetConfig
from vtonpipe.models.stableviton.vae import VAEConfig

TINY_CONFIG = StableVITONConfig(
    unet=UNetConfig(model_channels=32),
    vae=VAEConfig(ch=32, ch_mult=(1, 2, 2, 2), num_res_blocks=1),
    image_encoder=ImageEncoderConfig(intermediate_size=256, num_hidden_layers=2, mapper_layers=1),
)
CHECKPOINT_NAME = "VITONHD.ckpt"


def _randomize(module: nn.Module, generator: torch.Generator) -> None:
    # Default inits leave zero convs (warp_zero_convs, out.2 ...) that would hide errors.
    with torch.no_grad():
        for owner in module.modules():
            is_norm = isinstance(owner, (nn.GroupNorm, nn.LayerNorm))
            for name, p in owner.named_parameters(recurse=False):
                if is_norm:
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.05 + (1.0 if name == "weight" else 0.0))
                elif p.ndim == 1 or name == "learnable_vector":
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.05)
                else:
                    p.copy_(torch.randn(p.shape, generator=generator) / p[0].numel() ** 0.5)


def tiny_state_dict(seed: int = 0, cfg: StableVITONConfig = TINY_CONFIG) -> dict[str, torch.Tensor]:
    """Seeded random tensors under every key of the released checkpoint."""
    generator = torch.Generator().manual_seed(seed)
    model = StableVITON(cfg)
    _randomize(model, generator)
    state = {k: v for k, v in model.state_dict().items() if k not in official_schedule(cfg)}
    state.update(official_schedule(cfg))
    lastzc = nn.Conv2d(4, 4, 1)  # deprecated zero conv the released file still carries
    _randomize(lastzc, generator)
    state.update({f"lastzc.{k}": v for k, v in lastzc.state_dict().items()})
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def write_tiny_weights(root: str | Path, *, seed: int = 0) -> Path:
    """Write `root/VITONHD.ckpt` ({"state_dict": ...}, as Lightning saves it); returns its path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / CHECKPOINT_NAME
    torch.save({"state_dict": tiny_state_dict(seed)}, path)
    return path


def build_tiny_ir(out_dir: str | Path, *, seed: int = 0, height: int = 128, width: int = 64, batch: int = 1) -> Path:
    """Tiny weights under out_dir/tiny-weights, converted into the IR folder out_dir (returned)."""
    from vtonpipe.models.stableviton.checkpoint import load_checkpoint
    from vtonpipe.models.stableviton.export import export_ir

    out_dir = Path(out_dir)
    with phase(f"tiny weights written to {out_dir / TINY_WEIGHTS}"):
        weights = write_tiny_weights(out_dir / TINY_WEIGHTS, seed=seed)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return export_ir(load_checkpoint(weights), out_dir, height=height, width=width, batch=batch,
                         variant="tiny")
