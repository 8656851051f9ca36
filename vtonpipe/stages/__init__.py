"""The stage registry: name -> class, in the order `vtonpipe run` chains them.

Stage modules are light (runtimes are imported in `setup`), so listing them costs no OpenVINO.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

from vtonpipe.errors import ConfigError
from vtonpipe.manifests.io import INGEST_KEYS

# name -> "module:Class", in pipeline order (producers before consumers).
STAGES = {
    "densepose": "vtonpipe.stages.densepose:DensePoseStage",
    "parse": "vtonpipe.stages.parse:ParseStage",
    "pose": "vtonpipe.stages.pose:PoseStage",
    "masks": "vtonpipe.stages.masks:MasksStage",
    "cloth-mask": "vtonpipe.stages.cloth_mask:ClothMaskStage",
    "tryon": "vtonpipe.stages.tryon:TryonStage",
}


def stage_class(name: str) -> type:
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
    module, cls = STAGES[name].split(":")
    return getattr(importlib.import_module(module), cls)


@lru_cache(maxsize=1)
def manifest_keys() -> dict[str, str]:
    """Key column of every manifest: the ingest manifests and each stage's output."""
    return {**INGEST_KEYS, **{name: stage_class(name).key for name in STAGES}}


def build_stage(name: str, cfg: Any):
    """Stage `name` with the run's context and its validated options from cfg.stages[name]."""
    from vtonpipe.stages.base import RunContext
    from vtonpipe.stages.options import build_options

    cls = stage_class(name)
    context = RunContext(out_dir=cfg.out, models_dir=cfg.resolved_models_dir(), cache_dir=cfg.resolved_cache_dir(),
                         threads=cfg.threads, seed=cfg.seed, reuse_annotations=cfg.reuse_annotations,
                         tryon_model=cfg.stages.get("tryon", {}).get("model", "catvton"))
    return cls(context, build_options(cls.Options, cfg.stages.get(name), where=f"[stages.{name}] "))


def default_chain(cfg: Any) -> list[str]:
    """What `vtonpipe run` runs: tryon and every stage it needs with its configured options, plus
    cloth-mask (part of every dataset layout), in registry order."""
    wanted = {"tryon", "cloth-mask"}
    frontier = ["tryon"]
    while frontier:
        stage = build_stage(frontier.pop(), cfg)
        for name in stage.upstream:
            if name not in wanted:
                wanted.add(name)
                frontier.append(name)
    return [name for name in STAGES if name in wanted]


def make_stage(stage: str | type, out_dir: str, *, models_dir: str | None = None, seed: int = 0, threads: int = 0,
               reuse_annotations: bool = True, cache_dir: str | None = None, tryon_model: str = "catvton",
               **options: Any):
    """A stage outside a pipeline run (Python API, tests): run-wide settings as keywords, the
    stage's own options validated as in a config file."""
    import os

    from vtonpipe.stages.base import RunContext
    from vtonpipe.stages.options import build_options

    cls = stage_class(stage) if isinstance(stage, str) else stage
    out_dir = os.path.abspath(out_dir)
    context = RunContext(out_dir=out_dir, models_dir=os.path.abspath(models_dir or os.path.join(out_dir, "models")),
                         cache_dir=cache_dir, threads=threads, seed=seed, reuse_annotations=reuse_annotations,
                         tryon_model=tryon_model)
    return cls(context, build_options(cls.Options, options, where=f"{cls.name}: "))
