"""Load the official ``inception-2015-12-05.pt`` TorchScript archive from a local path.

A TorchScript archive carries code, and ``torch.jit.load`` runs it, unlike a weights-only
state_dict. vtonpipe therefore never downloads it and loads it only from a path the user names.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.inception import WEIGHTS_FILE


def resolve_weights(path: str | os.PathLike) -> Path:
    """The archive itself, given either its path or the folder holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    if not path.is_file():
        raise ModelFilesError(
            f"{path} not found: pass the local path of clean-fid's {WEIGHTS_FILE} "
            f"(TorchScript archive, published by NVIDIA for StyleGAN2-ADA's metrics)"
        )
    return path


def load_checkpoint(path: str | os.PathLike) -> torch.jit.ScriptModule:
    """The TorchScript network, on CPU, in eval mode; checks the ``layers`` entry point exists."""
    path = resolve_weights(path)
    try:
        network = torch.jit.load(str(path), map_location="cpu").eval()
    except RuntimeError as exc:
        raise ModelFilesError(f"{path} is not a TorchScript archive: {exc}") from None
    if not hasattr(network, "layers"):
        raise ModelFilesError(
            f"{path} has no `layers` submodule: not the Inception archive clean-fid uses ({WEIGHTS_FILE})"
        )
    return network
