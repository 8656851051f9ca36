"""Tiny LPIPS preset: seeded random weights in both official file layouts.

SqueezeNet-1.1 is small already (1.2 M parameters), so the tiny preset keeps the real widths;
only the weights are random. The backbone file includes the unused ImageNet classifier like the
torchvision file, and the heads are non-negative like the calibrated ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase
from vtonpipe.models.lpips import BACKBONE_FILE, LIN_FILE
from vtonpipe.models.lpips.checkpoint import load_checkpoint
from vtonpipe.models.lpips.definition import LpipsSqueeze
from vtonpipe.models.lpips.export import export_ir

TINY_SIZE = (64, 48)


def write_tiny_weights(root: str | os.PathLike, *, seed: int = 0) -> tuple[Path, Path]:
    """Write BACKBONE_FILE and LIN_FILE into `root`; returns their paths."""
    folder = Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    trunk, heads = {}, {}
    for key, value in LpipsSqueeze().state_dict().items():
        fan_in = value[0].numel() if value.ndim > 1 else 1
        noise = torch.randn(value.shape, generator=generator)
        if key.startswith("lin"):
            heads[key] = noise.abs() * 0.1
        else:
            # He-scaled weights and small biases keep activations alive through 13 layers.
            trunk[key] = noise * (2.0 / fan_in) ** 0.5 if value.ndim > 1 else noise * 0.01
    trunk["classifier.1.weight"] = torch.randn((1000, 512, 1, 1), generator=generator) * 0.01
    trunk["classifier.1.bias"] = torch.zeros(1000)
    backbone, lin = folder / BACKBONE_FILE, folder / LIN_FILE
    torch.save(trunk, backbone)
    torch.save(heads, lin)
    return backbone, lin


def build_tiny_ir(out_dir: str | os.PathLike, *, seed: int = 0, size: tuple[int, int] = TINY_SIZE) -> Path:
    """Write tiny weights to out_dir/tiny-weights and convert them into the IR folder out_dir."""
    with phase(f"tiny weights written to {Path(out_dir) / TINY_WEIGHTS}"):
        files = write_tiny_weights(Path(out_dir) / TINY_WEIGHTS, seed=seed)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return export_ir(load_checkpoint(*files), out_dir, size=size, variant="tiny", sources=list(files))
