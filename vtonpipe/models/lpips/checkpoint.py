"""Load the two official LPIPS-squeeze files into LpipsSqueeze, with exact key checks.

Both are plain state_dicts read with ``torch.load(weights_only=True)``. The lpips package's
``squeeze.pth`` was saved from CUDA tensors in the legacy format, hence ``map_location="cpu"``.
The backbone file also holds torchvision's ImageNet classifier, which LPIPS does not use: those
keys (and only those) are dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.convert import load_strict, read_checkpoint, state_dict_of
from vtonpipe.models.lpips import BACKBONE_FILE, LIN_FILE
from vtonpipe.models.lpips.definition import LpipsSqueeze

UNUSED_BACKBONE_KEYS = ("classifier.1.weight", "classifier.1.bias")


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    return state_dict_of(read_checkpoint(path), str(path), wrappers=())


def resolve_files(backbone: str | os.PathLike, lin: str | os.PathLike) -> tuple[Path, Path]:
    """Accept a file path or a folder holding the official file name, for each of the two."""
    backbone, lin = Path(backbone), Path(lin)
    return (backbone / BACKBONE_FILE if backbone.is_dir() else backbone, lin / LIN_FILE if lin.is_dir() else lin)


def load_checkpoint(backbone: str | os.PathLike, lin: str | os.PathLike | None = None) -> LpipsSqueeze:
    """LpipsSqueeze in eval mode with both official files loaded (each given as a file or a folder
    holding it; `lin` defaults to `backbone`'s folder); ModelFilesError names bad keys."""
    lin = backbone if lin is None else lin
    backbone_path, lin_path = resolve_files(backbone, lin)
    trunk = _load_state_dict(backbone_path)
    heads = _load_state_dict(lin_path)
    for key in UNUSED_BACKBONE_KEYS:
        trunk.pop(key, None)
    overlap = set(trunk) & set(heads)
    if overlap:
        raise ModelFilesError(f"{backbone_path} and {lin_path} share keys {sorted(overlap)[:5]}: files swapped?")
    model = LpipsSqueeze()
    load_strict(model, {**trunk, **heads}, f"LPIPS weights from {backbone_path} + {lin_path}")
    return model.eval()
