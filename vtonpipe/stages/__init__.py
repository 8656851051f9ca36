"""Stage registry: name -> "module:Class", imported lazily so the CLI starts fast."""

from __future__ import annotations

import importlib

STAGES = {
    "densepose": "vtonpipe.stages.densepose:DensePoseStage",
    "parse": "vtonpipe.stages.parse:ParseStage",
    "masks": "vtonpipe.stages.masks:MasksStage",
    "cloth-mask": "vtonpipe.stages.cloth_mask:ClothMaskStage",
    "tryon": "vtonpipe.stages.tryon:TryonStage",
}

# The order `vtonpipe run` chains them in.
PIPELINE_ORDER = ["densepose", "parse", "masks", "cloth-mask", "tryon"]


def available_stages() -> list[str]:
    """Stages whose module exists in this install, in pipeline order."""
    names = []
    for name in PIPELINE_ORDER:
        module = STAGES[name].split(":")[0]
        if importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def stage_class(name: str):
    module, cls = STAGES[name].split(":")
    return getattr(importlib.import_module(module), cls)
