"""Load DM-VTON's official checkpoints (``dmvton_pf_warp.pt``, ``dmvton_pf_gen.pt``) into the torch networks.

Each file is a bare state dict or a training checkpoint ``{"epoch", "best_fid", "model",
"optimizer"}``, whose ``best_fid`` may be a numpy float64: that one global (the numpy scalar and
its dtype, under numpy 1.x and 2.x names) is allowed, any other is refused. Keys must match
exactly; a missing, unexpected or mis-shaped key is a ModelFilesError naming it. Each pyramid
shares one smoothing conv across its five ``smooth_layers.<i>`` keys, so the five must hold one
value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.convert import load_strict, read_checkpoint, state_dict_of
from vtonpipe.models.dmvton import WEIGHT_FILES
from vtonpipe.models.dmvton.definition import MobileAFWM, MobileUNet

NUMPY_SCALAR_GLOBALS = (
    np._core.multiarray.scalar,
    (np._core.multiarray.scalar, "numpy.core.multiarray.scalar"),
    np.dtype,
    np.dtypes.Float64DType,
)
PYRAMIDS = ("image_mobile", "cond_mobile")
SMOOTH_COPIES = 5


@dataclass
class DMVTONCheckpoint:
    """The loaded networks (eval mode) and the files they came from."""

    warp: MobileAFWM
    generator: MobileUNet
    sources: list[Path]


def weight_paths(folder: str | os.PathLike) -> list[Path]:
    """The two official files in `folder`; ModelFilesError naming any that is missing."""
    folder = Path(folder)
    paths = [folder / name for name in WEIGHT_FILES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelFilesError(f"{folder} lacks {', '.join(missing)}: pass the folder holding DM-VTON's "
                              f"{' and '.join(WEIGHT_FILES)} (its checkpoints/ folder)")
    return paths


def check_shared_smoothing(state: dict[str, torch.Tensor], source: str) -> None:
    """Refuse a warp state whose five smoothing keys of one pyramid hold different values."""
    for pyramid in PYRAMIDS:
        for part in ("weight", "bias"):
            keys = [f"{pyramid}.smooth_layers.{i}.{part}" for i in range(SMOOTH_COPIES)]
            values = [state[k] for k in keys if k in state]
            if any(v.shape != values[0].shape or not torch.equal(v, values[0]) for v in values[1:]):
                raise ModelFilesError(
                    f"{source}: {', '.join(keys)} differ, but DM-VTON applies one smoothing conv to all five "
                    "levels; the file was not saved from the official network")


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in one official file (bare, or under 'model')."""
    return state_dict_of(read_checkpoint(path, allow_globals=NUMPY_SCALAR_GLOBALS), str(path), wrappers=("model",))


def load_checkpoint(folder: str | os.PathLike) -> DMVTONCheckpoint:
    """Both official files of `folder`, loaded strictly into fresh networks."""
    warp_path, gen_path = weight_paths(folder)
    warp_state = read_state(warp_path)
    check_shared_smoothing(warp_state, str(warp_path))
    warp, generator = MobileAFWM(), MobileUNet()
    load_strict(warp, warp_state, str(warp_path))
    load_strict(generator, read_state(gen_path), str(gen_path))
    return DMVTONCheckpoint(warp.eval(), generator.eval(), [warp_path, gen_path])
