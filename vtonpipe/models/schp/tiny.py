"""The tiny SCHP preset: seeded random weights in the official checkpoint layout, converted like real ones.

The file is ``{"state_dict": {"module.<key>": tensor}}`` under the official file name, with the
official key names; only the widths, the blocks per stage and the input size are small.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vtonpipe.labels.parsing import LABEL_SETS
from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase
from vtonpipe.models.schp.checkpoint import OFFICIAL_FILES, PREFIX, load_checkpoint
from vtonpipe.models.schp.definition import SCHPConfig, SCHPNet
from vtonpipe.models.schp.export import export_ir

TINY_WIDTH = 8
TINY_LAYERS = (1, 1, 2, 1)
# Not a multiple of 16, so the PSP bins (2, 3, 6 over a 5x5 map) pool unevenly as they do at 473.
TINY_INPUT_SIZE = 80


def random_state_dict(cfg: SCHPConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Plausible random weights: He-scaled convs, signed norm scales, positive variances."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, ref in SCHPNet(cfg).state_dict().items():
        shape = ref.shape
        if key.endswith("running_var"):
            value = 0.5 + 1.5 * torch.rand(shape, generator=gen)
        elif key.endswith("running_mean"):
            value = 0.1 * torch.randn(shape, generator=gen)
        elif ref.dim() == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            value = torch.randn(shape, generator=gen) * (2.0 / fan_in) ** 0.5
        elif key.endswith("bias"):
            value = 0.1 * torch.randn(shape, generator=gen)
        else:
            # Norm scales with both signs: InPlaceABN uses |weight|, the tiny file should exercise it.
            sign = torch.where(torch.rand(shape, generator=gen) < 0.2, -1.0, 1.0)
            value = sign * (0.5 + torch.rand(shape, generator=gen))
        state[key] = value.to(ref.dtype)
    return state


def write_tiny_weights(
    root: str | os.PathLike, *, seed: int = 0, dataset: str = "lip", width: int = TINY_WIDTH, layers=TINY_LAYERS
) -> Path:
    """Save a tiny checkpoint under its official file name in `root` and return its path."""
    cfg = SCHPConfig(num_classes=LABEL_SETS[dataset].num_classes, width=width, layers=tuple(layers))
    state = {PREFIX + k: v for k, v in random_state_dict(cfg, seed).items()}
    path = Path(root) / OFFICIAL_FILES[dataset]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state}, path)
    return path


def build_tiny_ir(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    dataset: str = "lip",
    input_size: int = TINY_INPUT_SIZE,
    width: int = TINY_WIDTH,
    layers=TINY_LAYERS,
) -> Path:
    """Write tiny weights to ``out_dir/tiny-weights/<official name>`` and convert them into the IR
    folder ``out_dir``."""
    with phase(f"tiny weights written to {Path(out_dir) / TINY_WEIGHTS}"):
        weights = write_tiny_weights(Path(out_dir) / TINY_WEIGHTS, seed=seed, dataset=dataset, width=width,
                                     layers=layers)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return export_ir(load_checkpoint(weights), out_dir, input_size=input_size, sources=[weights],
                         variant=f"tiny-{dataset}")
