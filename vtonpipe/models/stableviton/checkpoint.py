"""Load the released VITONHD.ckpt (a PyTorch Lightning checkpoint) into the torch definition.

The file is read with `torch.load(weights_only=True)` (or safetensors for a bare state dict),
allowing only numpy scalar and dtype globals, which Lightning's callback state may hold. The
tensors sit under "state_dict" (a bare dict is accepted too). Keys the official model carries but
never reads are dropped when present: `...embeddings.position_ids` (a non-persistent buffer in
current transformers), `lastzc.*` (a deprecated zero conv) and the schedule buffers other than
alphas_cumprod and its square roots. Every other key must match the definition by name and
shape (ModelFilesError naming each one). Widths are read from the tensor shapes; a `config`
YAML (the official configs/VITONHD.yaml) sets the head count and is checked against them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vtonpipe.models.common.convert import load_strict, read_checkpoint, state_dict_of
from vtonpipe.models.stableviton.config import StableVITONConfig, check_against_yaml, infer_config, yaml_base
from vtonpipe.models.stableviton.definition import SCHEDULE_BUFFERS, USED_BUFFERS, StableVITON

# numpy scalars and dtypes, under their numpy 1.x and 2.x module names.
_core = np._core if hasattr(np, "_core") else np.core
LIGHTNING_GLOBALS = (
    _core.multiarray.scalar,
    (_core.multiarray.scalar, "numpy.core.multiarray.scalar"),
    np.dtype,
    type(np.dtype(np.float64)),
    type(np.dtype(np.float32)),
    type(np.dtype(np.int64)),
)
UNREAD_KEYS = ("cond_stage_model.transformer.vision_model.embeddings.position_ids",) + tuple(
    name for name in SCHEDULE_BUFFERS if name not in USED_BUFFERS)
UNREAD_PREFIXES = ("lastzc.",)


@dataclass
class LoadedStableVITON:
    """The loaded model (unused spatial-encoder blocks dropped), its widths and source files."""

    model: StableVITON
    config: StableVITONConfig
    sources: list[Path] = field(default_factory=list)


def load_checkpoint(path: str | os.PathLike, config: str | os.PathLike | None = None) -> LoadedStableVITON:
    """VITONHD.ckpt (and optionally its YAML config) -> LoadedStableVITON; strict by key and shape."""
    path = Path(path)
    raw = read_checkpoint(path, allow_globals=LIGHTNING_GLOBALS)
    state = state_dict_of(raw, str(path), wrappers=("state_dict",))
    state = {k: v for k, v in state.items() if k not in UNREAD_KEYS and not k.startswith(UNREAD_PREFIXES)}
    cfg = infer_config(state, str(path), yaml_base(config) if config else None)
    if config:
        check_against_yaml(cfg, config)
    model = StableVITON(cfg)
    load_strict(model, state, str(path))
    sources = [path] + ([Path(config)] if config else [])
    return LoadedStableVITON(model=model.drop_unused().eval(), config=cfg, sources=sources)
