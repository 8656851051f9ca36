"""The registry of model families and the protocol each one follows (see vtonpipe/models/__init__.py).

Only the light ``__init__`` of a family is imported to list it; checkpoint/export/tiny import
torch and are loaded for `models convert|tiny` alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from types import ModuleType
from typing import Any

from vtonpipe.errors import ConfigError

# Every family vtonpipe knows, in the order `vtonpipe models list` shows them.
FAMILIES = ("catvton", "stableviton", "dmvton", "pfafn", "openpose", "densepose", "schp", "inception", "lpips")
NAMES = ("FAMILY", "DESCRIPTION", "LICENSE", "WEIGHTS", "RUNTIME", "IR_NAMES")
VERBS = {
    "checkpoint": ("load_checkpoint",),
    "export": ("export_ir", "add_convert_arguments", "convert_from_args"),
    "tiny": ("write_tiny_weights", "build_tiny_ir"),
}


def installed_families() -> list[str]:
    """Families whose package is present in this install."""
    return [f for f in FAMILIES if importlib.util.find_spec(f"vtonpipe.models.{f}") is not None]


def family(name: str) -> ModuleType:
    """The family's ``__init__`` module (its declared names); ConfigError for an unknown name."""
    if name not in installed_families():
        raise ConfigError(f"unknown model family {name!r}; choose one of {', '.join(installed_families())}")
    return importlib.import_module(f"vtonpipe.models.{name}")


def family_module(name: str, part: str) -> ModuleType:
    """vtonpipe.models.<name>.<part> (checkpoint, export, tiny and definition need torch)."""
    family(name)
    return importlib.import_module(f"vtonpipe.models.{name}.{part}")


def runtime_class(name: str) -> type:
    """The family's runtime class (OpenVINO + numpy only)."""
    return getattr(family_module(name, "runtime"), family(name).RUNTIME)


def tiny_options(name: str) -> dict[str, Any]:
    """Preset options of `build_tiny_ir` (name -> default), for `models tiny --kw`."""
    params = inspect.signature(family_module(name, "tiny").build_tiny_ir).parameters
    return {p.name: p.default for p in params.values() if p.kind is p.KEYWORD_ONLY and p.name != "seed"}


def protocol_problems(name: str) -> list[str]:
    """What family `name` lacks of the protocol (imports its torch side)."""
    problems = []
    init = family(name)
    for attr in NAMES:
        if not getattr(init, attr, None):
            problems.append(f"{name}: __init__ declares no {attr}")
    if getattr(init, "FAMILY", name) != name:
        problems.append(f"{name}: FAMILY is {init.FAMILY!r}")
    for part, verbs in VERBS.items():
        module = family_module(name, part)
        problems += [f"{name}.{part} has no {verb}" for verb in verbs if not callable(getattr(module, verb, None))]
    tiny = family_module(name, "tiny").build_tiny_ir
    params = inspect.signature(tiny).parameters
    if list(params)[:1] != ["out_dir"] or "seed" not in params or params["seed"].kind is not params["seed"].KEYWORD_ONLY:
        problems.append(f"{name}.tiny.build_tiny_ir must be (out_dir, *, seed=0, ...)")
    if not isinstance(getattr(family_module(name, "runtime"), init.RUNTIME, None), type):
        problems.append(f"{name}.runtime has no class {init.RUNTIME}")
    return problems
