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
from vtonpipe.models.lpips import BACKBONE_FILE, LIN_FILE
from vtonpipe.models.lpips.definition import LpipsSqueeze

UNUSED_BACKBONE_KEYS = ("classifier.1.weight", "classifier.1.bias")


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelFilesError(f"{path} not found")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelFilesError(f"{path}: not a weights-only torch state_dict ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise ModelFilesError(f"{path}: expected a state_dict, got {type(state).__name__}")
    return state


def resolve_files(backbone: str | os.PathLike, lin: str | os.PathLike) -> tuple[Path, Path]:
    """Accept a file path or a folder holding the official file name, for each of the two."""
    backbone, lin = Path(backbone), Path(lin)
    return (backbone / BACKBONE_FILE if backbone.is_dir() else backbone, lin / LIN_FILE if lin.is_dir() else lin)


def load_lpips(backbone: str | os.PathLike, lin: str | os.PathLike) -> LpipsSqueeze:
    """LpipsSqueeze in eval mode with both official files loaded; ModelFilesError names bad keys."""
    backbone_path, lin_path = resolve_files(backbone, lin)
    trunk = _load_state_dict(backbone_path)
    heads = _load_state_dict(lin_path)
    for key in UNUSED_BACKBONE_KEYS:
        trunk.pop(key, None)
    overlap = set(trunk) & set(heads)
    if overlap:
        raise ModelFilesError(f"{backbone_path} and {lin_path} share keys {sorted(overlap)[:5]}: files swapped?")
    model = LpipsSqueeze()
    expected = set(model.state_dict())
    state = {**trunk, **heads}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise ModelFilesError(
            f"LPIPS weights from {backbone_path} + {lin_path} do not match the squeeze network: "
            f"missing {missing[:8]}{' ...' if len(missing) > 8 else ''}, "
            f"unexpected {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise ModelFilesError(f"LPIPS weights have wrong shapes: {exc}") from None
    return model.eval()
