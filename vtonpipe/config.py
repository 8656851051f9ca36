"""One validated configuration: defaults < TOML file (--config) < command-line flags.

    out = "out"                 # output folder (manifests, images, run.json)
    seed = 0                    # run seed; a row's randomness comes from (seed, row key) only
    address = ""                # Ray cluster address; "" starts an embedded local Ray
    executor = "ray"            # "ray" (Ray Data actors) or "local" (in this process, no Ray)
    workers = 0                 # actors per model stage; 0 = one per device unit in the cluster
    threads = 0                 # OpenVINO threads per actor; 0 = node CPUs / CPU slots
    cpu_slots = 1               # CPU actors allowed per node (local Ray only)
    cache_dir = ""              # OpenVINO compile cache, node-local; "" = ~/.cache/vtonpipe/ov
    models_dir = ""             # IR folders per family; "" = <out>/models
    retry_failed = false        # re-run only rows whose status is "error"
    rerun_stale = false         # also redo rows made by another model, version or result option
    reuse_annotations = true    # use the parse, DensePose, pose and agnostic-mask files a dataset ships
    verbose = false             # show Ray's own log lines
    [stages.tryon]              # per-stage options (`vtonpipe <stage> --help` lists them), e.g.
    steps = 50

Relative paths (out, models_dir, cache_dir and stage path options such as `ir`) are taken
relative to the directory the command runs in and made absolute before any actor starts.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vtonpipe.errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

EXECUTORS = ("ray", "local")


@dataclass
class Config:
    out: str = "out"
    seed: int = 0
    address: str = ""
    executor: str = "ray"
    workers: int = 0
    threads: int = 0
    cpu_slots: int = 1
    cache_dir: str = ""
    models_dir: str = ""
    retry_failed: bool = False
    rerun_stale: bool = False
    reuse_annotations: bool = True
    verbose: bool = False
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # absolute: actors on other nodes do not share the driver's working directory
        self.out = os.path.abspath(os.path.expanduser(self.out))

    def resolved_models_dir(self) -> str:
        return os.path.abspath(os.path.expanduser(self.models_dir or os.path.join(self.out, "models")))

    def resolved_cache_dir(self) -> str:
        return os.path.abspath(os.path.expanduser(self.cache_dir or os.path.join(Path.home(), ".cache", "vtonpipe", "ov")))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _check_type(name: str, value: Any) -> Any:
    default = _FIELDS[name].default
    expected = type(default)
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        raise ConfigError(f"config key {name!r} must be {expected.__name__}, got {value!r}")
    if expected is int and value < 0:
        raise ConfigError(f"config key {name!r} must be >= 0, got {value}")
    if name == "executor" and value not in EXECUTORS:
        raise ConfigError(f"config key 'executor' must be one of {', '.join(EXECUTORS)}, got {value!r}")
    return value


def _check_stages(tables: Any) -> dict[str, dict[str, Any]]:
    """Every [stages.<name>] table names a stage and only its options (validated, paths absolute)."""
    from vtonpipe.stages import STAGES, stage_class
    from vtonpipe.stages.options import build_options

    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise ConfigError("[stages] must hold one table per stage, e.g. [stages.tryon]")
    unknown = sorted(set(tables) - set(STAGES))
    if unknown:
        raise ConfigError(f"unknown stage table{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(f'[stages.{n}]' for n in unknown)}; stages: {', '.join(STAGES)}")
    checked = {}
    for name, values in tables.items():
        options = build_options(stage_class(name).Options, values, where=f"[stages.{name}] ")
        checked[name] = {k: getattr(options, k) for k in values if values[k] is not None}
    return checked


def load_config(path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Build a Config from an optional TOML file and CLI overrides (None values are ignored)."""
    values: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as f:
                values = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown config keys {unknown}; valid keys: {sorted(_FIELDS)}")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "stages":
            for stage, opts in value.items():
                values.setdefault("stages", {}).setdefault(stage, {}).update(
                    {k: v for k, v in opts.items() if v is not None})
        else:
            values[key] = value
    stages = _check_stages(values.pop("stages", {}))
    return Config(**{k: _check_type(k, v) for k, v in values.items()}, stages=stages)
