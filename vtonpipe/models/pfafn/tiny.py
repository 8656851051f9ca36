"""The PF-AFN preset for tests, demos and benchmarks: seeded random weights at full size (293 MB)
in the official file layout (PFAFN/...), converted by the same code path as real weights.

The weights are well conditioned (unit-variance layers, damped flow heads), so flows stay within a
few tens of pixels and results are stable under float rounding; they do not produce plausible try-ons.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vtonpipe.models.common.appearance_flow import offset_convs
from vtonpipe.models.common.parser_free_export import DEFAULT_SIZE
from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase
from vtonpipe.models.common.random_weights import example_images, randomize_
from vtonpipe.models.pfafn import WEIGHT_DIR, WEIGHT_FILES
from vtonpipe.models.pfafn.checkpoint import load_checkpoint
from vtonpipe.models.pfafn.definition import AFWM, ResUnetGenerator
from vtonpipe.models.pfafn.export import export_ir

def write_tiny_weights(root: str | os.PathLike, *, seed: int = 0) -> Path:
    """Write PFAFN/warp_model_final.pth and PFAFN/gen_model_final.pth under `root`; returns root."""
    root = Path(root)
    (root / WEIGHT_DIR).mkdir(parents=True, exist_ok=True)
    warp = randomize_(AFWM(), example_images(3, 3, seed=seed), seed, output_std=offset_convs())
    generator = randomize_(ResUnetGenerator(), example_images(7, seed=seed), seed + 1)
    for module, name in zip((warp, generator), WEIGHT_FILES):
        torch.save(module.state_dict(), root / WEIGHT_DIR / name)
    return root


def build_tiny_ir(out_dir: str | os.PathLike, *, seed: int = 0, height: int = DEFAULT_SIZE[0],
                  width: int = DEFAULT_SIZE[1], batch: int = 1) -> Path:
    """Random weights under `out_dir`/tiny-weights, converted into the IR folder `out_dir` (returned)."""
    out_dir = Path(out_dir)
    with phase(f"tiny weights written to {out_dir / TINY_WEIGHTS}"):
        weights = write_tiny_weights(out_dir / TINY_WEIGHTS, seed=seed)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return export_ir(load_checkpoint(weights), out_dir, height=height, width=width, batch=batch, variant="tiny")
