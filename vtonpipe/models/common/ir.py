"""OpenVINO IR folders: save, describe (model.json), read back as a typed descriptor, compile.

Every IR folder holds one or more `<name>.xml/.bin` pairs and a `model.json` that records the
family, variant, static input shapes, precision, source checksums and library versions, plus the
family's own parameters (image size, scheduler, label set ...) that its runtime needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import openvino as ov

from vtonpipe import __version__
from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.errors import ModelFilesError

MODEL_JSON = "model.json"
# Keys every model.json has; everything else is the family's parameters.
COMMON_KEYS = ("family", "variant", "precision", "inputs", "sources", "versions")
# Libraries whose versions shape an IR or a run's results (read from package metadata: no import).
VERSIONED = ("openvino", "numpy", "pyarrow", "ray", "torch", "diffusers", "transformers", "nncf")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of vtonpipe, Python and the installed libraries in VERSIONED (none is imported)."""
    versions = {"vtonpipe": __version__, "python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class IRInfo:
    """What model.json says about an IR folder, checked against the files beside it."""

    folder: Path
    family: str
    variant: str
    precision: str
    inputs: dict[str, dict[str, list[int]]]
    sources: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        """A short identifier: family/variant@precision-<digest of the source checksums>."""
        digest = hashlib.sha256(json.dumps(self.sources, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.family}/{self.variant}@{self.precision}-{digest}"

    def xml(self, name: str) -> Path:
        """Path of IR `name` (one of the keys of `inputs`)."""
        if name not in self.inputs:
            raise ModelFilesError(f"{self.folder}/{MODEL_JSON} lists no IR named {name!r} (it has {sorted(self.inputs)})")
        return self.folder / f"{name}.xml"

    def shape(self, name: str, input_name: str) -> list[int]:
        """Static shape of one input of IR `name`."""
        return list(self.inputs[name][input_name])

    def param(self, name: str) -> Any:
        """A family parameter; a clear error when the folder was written without it."""
        if name not in self.params:
            raise ModelFilesError(
                f"{self.folder}/{MODEL_JSON} has no {name!r}: the folder was written by another vtonpipe "
                f"version; convert it again with `vtonpipe models convert {self.family} ...`")
        return self.params[name]


def save_ir(model: ov.Model, path: str | os.PathLike, *, compress_to_fp16: bool = False) -> Path:
    """Save an ov.Model as `<path>.xml/.bin` (fp32 weights unless asked otherwise)."""
    path = Path(path).with_suffix(".xml")
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(path), compress_to_fp16=compress_to_fp16)
    return path


def write_model_json(
    ir_dir: str | os.PathLike,
    *,
    family: str,
    variant: str,
    inputs: dict[str, dict[str, list[int]]],
    precision: str,
    sources: list[str | os.PathLike],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write model.json beside the IRs. `inputs` maps IR name -> {input name: static shape};
    `extra` holds the family's parameters (IRInfo.params when read back)."""
    ir_dir = Path(ir_dir)
    clash = set(extra or {}) & set(COMMON_KEYS)
    if clash:
        raise ValueError(f"family parameters may not reuse the common keys {sorted(clash)}")
    info = {
        "family": family,
        "variant": variant,
        "precision": precision,
        "inputs": inputs,
        "sources": {Path(s).name: sha256_file(s) for s in sources if Path(s).is_file()},
        "versions": library_versions(),
        **(extra or {}),
    }
    target = ir_dir / MODEL_JSON
    atomic_write_bytes(target, json.dumps(info, indent=2, sort_keys=True).encode())
    return target


def read_ir(ir_dir: str | os.PathLike, family: str) -> IRInfo:
    """Load model.json, check it describes `family` and that every IR it lists is there."""
    ir_dir = Path(ir_dir)
    path = ir_dir / MODEL_JSON
    build = f"`vtonpipe models convert {family} ... --out {ir_dir}` (or `vtonpipe models tiny {family} --out {ir_dir}`)"
    if not path.is_file():
        what = "does not exist" if not ir_dir.exists() else f"is not a vtonpipe IR folder (no {MODEL_JSON})"
        raise ModelFilesError(f"{ir_dir} {what}. Build it with {build}.")
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelFilesError(f"{path} cannot be read ({exc}); build the folder again with {build}") from None
    if raw.get("family") != family:
        raise ModelFilesError(f"{path} describes family {raw.get('family')!r}, expected {family!r}; build it with {build}")
    missing = [k for k in ("variant", "precision", "inputs") if k not in raw]
    if missing:
        raise ModelFilesError(f"{path} lacks {missing}; build the folder again with {build}")
    for name in raw["inputs"]:
        for suffix in (".xml", ".bin"):
            if not (ir_dir / f"{name}{suffix}").is_file():
                raise ModelFilesError(f"{ir_dir} lacks {name}{suffix} listed in {MODEL_JSON}")
    return IRInfo(
        folder=ir_dir,
        family=raw["family"],
        variant=raw["variant"],
        precision=raw["precision"],
        inputs=raw["inputs"],
        sources=raw.get("sources", {}),
        versions=raw.get("versions", {}),
        params={k: v for k, v in raw.items() if k not in COMMON_KEYS},
    )


def compile_ir(
    model: str | os.PathLike | ov.Model,
    device: str = "CPU",
    *,
    threads: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    hint: str = "LATENCY",
    shapes: dict[str, list[int]] | None = None,
) -> ov.CompiledModel:
    """Compile an IR file (or an in-memory, e.g. reshaped, model) on `device` with a node-local
    cache and an explicit thread count; `shapes` (input name -> static shape) reshapes it first,
    which works for graphs exported batch-polymorphic."""
    core = ov.Core()
    if shapes:
        model = model if isinstance(model, ov.Model) else core.read_model(str(model))
        model.reshape({name: ov.PartialShape(list(shape)) for name, shape in shapes.items()})
    config: dict[str, Any] = {"PERFORMANCE_HINT": hint}
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        config["CACHE_DIR"] = str(cache_dir)
    if threads and device.split(".")[0] == "CPU":
        config["INFERENCE_NUM_THREADS"] = int(threads)
        config["ENABLE_CPU_PINNING"] = False
    return core.compile_model(model if isinstance(model, ov.Model) else str(model), device, config)
