"""Load the official SCHP checkpoints (``exp-schp-201908261155-lip.pth``, ``exp-schp-201908301523-atr.pth``).

The files hold ``{"state_dict": {...}}`` saved from a DataParallel model, so every key starts
with ``module.``. The InPlaceABN layers' ``weight/bias/running_mean/running_var`` map one to one
onto ActivatedBatchNorm; nothing else is renamed. Missing, unexpected or misshapen keys are
refused by name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.schp.definition import SCHPConfig, SCHPNet
from vtonpipe.labels.parsing import LABEL_SETS, LabelSet

PREFIX = "module."
OFFICIAL_FILES = {
    "lip": "exp-schp-201908261155-lip.pth",
    "atr": "exp-schp-201908301523-atr.pth",
}


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file with the ``module.`` prefix removed (safe unpickling only)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFilesError(f"SCHP checkpoint {path} does not exist")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors alike
        raise ModelFilesError(f"{path} is not a loadable SCHP checkpoint: {type(exc).__name__}: {exc}") from None
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict) or not state:
        raise ModelFilesError(f"{path} holds no state_dict")
    out = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ModelFilesError(f"{path}: entry {key!r} is not a tensor")
        out[key[len(PREFIX):] if key.startswith(PREFIX) else key] = value
    return out


def config_from_state_dict(state: dict[str, torch.Tensor], source: str = "checkpoint") -> SCHPConfig:
    """Network shape read off the tensors: class count, stem width and blocks per stage."""
    for key in ("conv1.weight", "fushion.3.weight"):
        if key not in state:
            raise ModelFilesError(f"{source} lacks {key!r}: not an SCHP (AugmentCE2P) checkpoint")
    blocks = []
    for stage in range(1, 5):
        found = {int(m.group(1)) for k in state if (m := re.match(rf"layer{stage}\.(\d+)\.", k))}
        if not found:
            raise ModelFilesError(f"{source} has no layer{stage} blocks")
        blocks.append(max(found) + 1)
    return SCHPConfig(
        num_classes=int(state["fushion.3.weight"].shape[0]),
        width=int(state["conv1.weight"].shape[0]),
        layers=tuple(blocks),
    )


def _named(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" ... ({len(keys)} in all)" if len(keys) > limit else "")


def check_keys(model: SCHPNet, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Raise ModelFilesError naming every missing, unexpected or misshapen key."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshapen = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_named(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_named(unexpected)}")
    if misshapen:
        problems.append(f"shape mismatches: {_named(misshapen)}")
    if problems:
        raise ModelFilesError(f"{source} does not match the SCHP network; " + "; ".join(problems))


def label_set_for(path: str | os.PathLike, num_classes: int, dataset: str | None = None) -> LabelSet:
    """The label set of a checkpoint: `dataset` if given, else "lip"/"atr" in the file name."""
    if dataset is None:
        name = Path(path).name.lower()
        hits = [d for d in LABEL_SETS if d in name]
        if len(hits) != 1:
            raise ModelFilesError(
                f"cannot tell LIP from ATR by the file name {Path(path).name!r}; pass --dataset lip|atr"
            )
        dataset = hits[0]
    if dataset not in LABEL_SETS:
        raise ModelFilesError(f"unknown SCHP dataset {dataset!r}; expected one of {sorted(LABEL_SETS)}")
    labels = LABEL_SETS[dataset]
    if labels.num_classes != num_classes:
        raise ModelFilesError(
            f"{Path(path).name} has {num_classes} classes but {dataset} has {labels.num_classes}"
        )
    return labels


def load_schp(path: str | os.PathLike, dataset: str | None = None) -> tuple[SCHPNet, LabelSet]:
    """Build the network a checkpoint describes, load it strictly and return it in eval mode."""
    source = str(path)
    state = read_state_dict(path)
    cfg = config_from_state_dict(state, source)
    labels = label_set_for(path, cfg.num_classes, dataset)
    model = SCHPNet(cfg)
    check_keys(model, state, source)
    model.load_state_dict(state, strict=True)
    return model.eval(), labels
