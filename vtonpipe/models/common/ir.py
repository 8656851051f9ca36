"""OpenVINO IR folders: save, describe (model.json), check and compile.

Every IR folder holds one or more `<name>.xml/.bin` pairs and a `model.json` that records the
family, variant, static input shapes, precision, source checksums and library versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

import openvino as ov

from vtonpipe import __version__
from vtonpipe.errors import ModelFilesError
from vtonpipe.manifests.layout import atomic_write_bytes

MODEL_JSON = "model.json"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shaped an IR (those importable here)."""
    versions = {"vtonpipe": __version__, "openvino": ov.__version__, "python": platform.python_version()}
    for name in ("torch", "diffusers", "nncf", "numpy"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        versions[name] = getattr(module, "__version__", "unknown")
    return versions


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
    """Write model.json beside the IRs. `inputs` maps IR name -> {input name: static shape}."""
    ir_dir = Path(ir_dir)
    info = {
        "family": family,
        "variant": variant,
        "precision": precision,
        "inputs": inputs,
        "sources": {Path(s).name: sha256_file(s) for s in sources if Path(s).is_file()},
        "versions": library_versions(),
    }
    info.update(extra or {})
    target = ir_dir / MODEL_JSON
    atomic_write_bytes(target, json.dumps(info, indent=2, sort_keys=True).encode())
    return target


def read_model_json(ir_dir: str | os.PathLike, family: str) -> dict[str, Any]:
    """Load model.json and check it describes `family`; clear errors otherwise."""
    ir_dir = Path(ir_dir)
    path = ir_dir / MODEL_JSON
    if not path.is_file():
        raise ModelFilesError(
            f"{ir_dir} is not a vtonpipe IR folder (no {MODEL_JSON}). "
            f"Build one with `vtonpipe models convert {family} ...` or `vtonpipe models tiny {family}`."
        )
    info = json.loads(path.read_text())
    if info.get("family") != family:
        raise ModelFilesError(f"{path} describes family {info.get('family')!r}, expected {family!r}")
    for name in info.get("inputs", {}):
        for suffix in (".xml", ".bin"):
            if not (ir_dir / f"{name}{suffix}").is_file():
                raise ModelFilesError(f"{ir_dir} lacks {name}{suffix} listed in {MODEL_JSON}")
    return info


def model_id(info: dict[str, Any]) -> str:
    """A short identifier of an IR: family/variant@precision+checksum prefix."""
    digest = hashlib.sha256(json.dumps(info.get("sources", {}), sort_keys=True).encode()).hexdigest()[:8]
    return f"{info['family']}/{info['variant']}@{info['precision']}-{digest}"


def compile_ir(
    model: str | os.PathLike | ov.Model,
    device: str = "CPU",
    *,
    threads: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    hint: str = "LATENCY",
) -> ov.CompiledModel:
    """Compile an IR file (or an in-memory, e.g. reshaped, model) on `device` with a node-local
    cache and an explicit thread count."""
    core = ov.Core()
    config: dict[str, Any] = {"PERFORMANCE_HINT": hint}
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        config["CACHE_DIR"] = str(cache_dir)
    if threads and device.split(".")[0] == "CPU":
        config["INFERENCE_NUM_THREADS"] = int(threads)
        config["ENABLE_CPU_PINNING"] = False
    return core.compile_model(model if isinstance(model, ov.Model) else str(model), device, config)
