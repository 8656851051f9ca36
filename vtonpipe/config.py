"""One validated configuration: defaults < TOML file (--config) < command-line flags.

    out = "out"                 # output folder (manifests, images, run.json)
    seed = 0                    # run seed; a row's randomness comes from (seed, row key) only
    address = ""                # Ray cluster address; "" starts an embedded local Ray
    workers = 0                 # actors per model stage; 0 = one per device unit in the cluster
    threads = 0                 # OpenVINO threads per actor; 0 = node CPUs / CPU slots
    cpu_slots = 1               # CPU actors allowed per node (local Ray only)
    cache_dir = ""              # OpenVINO compile cache, node-local; "" = ~/.cache/vtonpipe/ov
    models_dir = ""             # IR folders per family; "" = <out>/models
    retry_failed = false        # re-run only rows whose status is "error"
    reuse_annotations = true    # use the parse, DensePose and agnostic-mask files a dataset ships
    [stages.tryon]              # per-stage options, e.g. steps = 50
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


@dataclass
class Config:
    out: str = "out"
    seed: int = 0
    address: str = ""
    workers: int = 0
    threads: int = 0
    cpu_slots: int = 1
    cache_dir: str = ""
    models_dir: str = ""
    retry_failed: bool = False
    reuse_annotations: bool = True
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resolved_models_dir(self) -> str:
        # absolute: actors on other nodes do not share the driver's working directory
        return os.path.abspath(self.models_dir or os.path.join(self.out, "models"))

    def resolved_cache_dir(self) -> str:
        return self.cache_dir or os.path.join(Path.home(), ".cache", "vtonpipe", "ov")

    def stage_options(self, name: str) -> dict[str, Any]:
        """Options a stage receives: the globals it may need plus its own table."""
        opts: dict[str, Any] = {
            "seed": self.seed,
            "threads": self.threads,  # 0: each actor uses its node's CPUs / cpu_slots
            "cache_dir": self.resolved_cache_dir(),
            "models_dir": self.resolved_models_dir(),
            "reuse_annotations": self.reuse_annotations,
        }
        opts.update(self.stages.get(name, {}))
        return opts

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _check_type(name: str, value: Any) -> Any:
    default = _FIELDS[name].default
    if name == "stages":
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise ConfigError("[stages] must hold one table per stage, e.g. [stages.tryon]")
        return value
    expected = type(default)
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        raise ConfigError(f"config key {name!r} must be {expected.__name__}, got {value!r}")
    if expected is int and value < 0:
        raise ConfigError(f"config key {name!r} must be >= 0, got {value}")
    return value


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
    return Config(**{k: _check_type(k, v) for k, v in values.items()})
