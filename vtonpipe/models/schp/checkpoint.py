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
from vtonpipe.labels.parsing import LABEL_SETS, LabelSet
from vtonpipe.models.common.convert import load_strict, read_checkpoint, state_dict_of
from vtonpipe.models.schp.definition import SCHPConfig, SCHPNet

PREFIX = "module."
OFFICIAL_FILES = {
    "lip": "exp-schp-201908261155-lip.pth",
    "atr": "exp-schp-201908301523-atr.pth",
}


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file with the ``module.`` prefix removed (safe unpickling only)."""
    return state_dict_of(read_checkpoint(path), str(path), wrappers=("state_dict",), strip_prefix=PREFIX)


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


def load_checkpoint(path: str | os.PathLike, dataset: str | None = None) -> tuple[SCHPNet, LabelSet]:
    """Build the network a checkpoint describes, load it strictly and return it in eval mode."""
    source = str(path)
    state = read_state_dict(path)
    cfg = config_from_state_dict(state, source)
    labels = label_set_for(path, cfg.num_classes, dataset)
    model = SCHPNet(cfg)
    load_strict(model, state, f"{source} (SCHP network)")
    return model.eval(), labels
