"""Load CatVTON's official files into the torch definition (convert extra).

Folder layout (what `vtonpipe models fetch catvton DIR` writes):

    DIR/base/unet/{config.json, diffusion_pytorch_model.safetensors|.bin}   SD-1.5 inpainting
    DIR/base/scheduler/scheduler_config.json
    DIR/catvton/<mix-48k-1024|vitonhd-16k-512|dresscode-16k-512>/attention/model.safetensors
    DIR/vae/{config.json, diffusion_pytorch_model.safetensors|.bin}         sd-vae-ft-mse

Every load is strict: missing, unexpected or mis-shaped keys raise ModelFilesError naming them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.catvton import VERSIONS
from vtonpipe.models.catvton.definition import build_unet, build_vae, self_attention_modules
from vtonpipe.models.common.convert import load_strict, name_list, read_checkpoint, state_dict_of

WEIGHT_NAMES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
ATTENTION_NAMES = ("model.safetensors", "pytorch_model.bin")
# Old diffusers VAE attention names (some published VAE files still use them).
LEGACY_VAE_ATTENTION = {"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}


@dataclass
class CatVTONWeights:
    """The loaded torch modules plus what export records about them."""

    unet: Any
    vae: Any
    scheduler_config: dict[str, Any]
    version: str
    sources: list[Path] = field(default_factory=list)


def _first_existing(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise ModelFilesError(f"{folder} has none of {', '.join(names)}; fetch the weights with `vtonpipe models fetch catvton DIR`")


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelFilesError(f"missing {path}; fetch the weights with `vtonpipe models fetch catvton DIR`")
    return json.loads(path.read_text())


def _rename_legacy_vae(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if "attentions" in parts and len(parts) >= 2 and parts[-2] in LEGACY_VAE_ATTENTION:
            key = ".".join(parts[:-2] + [LEGACY_VAE_ATTENTION[parts[-2]], parts[-1]])
            if value.ndim == 4:  # conv-shaped 1x1 attention projections -> linear
                value = value[:, :, 0, 0]
        out[key] = value
    return out


def attention_state_dict(raw: dict[str, torch.Tensor], unet: torch.nn.Module, what: str) -> dict[str, torch.Tensor]:
    """Map an attention checkpoint onto the UNet's `attn1` parameter names (catvton.md §8).

    Accepts the published layout (state_dict of a ModuleList of every module whose name contains
    "attn1", aliases dropped: `{i}.to_q.weight` with i stepping by 7 or 8), the same with the alias
    entries kept, and full diffusers names (`...attn1.to_q.weight`).
    """
    modules = self_attention_modules(unet)
    if any(".attn1." in k for k in raw):
        return dict(raw)  # full names: load_strict checks them
    groups: dict[int, dict[str, torch.Tensor]] = defaultdict(dict)
    for key, value in raw.items():
        match = re.fullmatch(r"(\d+)\.(.+)", key)
        if not match:
            raise ModelFilesError(f"{what}: unexpected key {key!r} (neither '<index>.<name>' nor a diffusers name)")
        groups[int(match.group(1))][match.group(2)] = value
    order = sorted(groups)
    heads = [i for i in order if "to_q.weight" in groups[i]]
    if len(heads) != len(modules):
        raise ModelFilesError(f"{what}: {len(heads)} attention entries, the UNet has {len(modules)} attn1 modules")
    out: dict[str, torch.Tensor] = {}
    for head, (name, module) in zip(heads, modules):
        for rest in module.state_dict():
            if rest not in groups[head]:
                raise ModelFilesError(f"{what}: missing key {head}.{rest} (for {name}.{rest})")
            out[f"{name}.{rest}"] = groups[head][rest]
        extra = groups[head].keys() - module.state_dict().keys()
        if extra:
            raise ModelFilesError(f"{what}: unexpected keys {name_list(f'{head}.{k}' for k in extra)}")
    # Child entries of the list (to_q, to_out.0 ...) are aliases of tensors already read.
    for i in order:
        if i in heads:
            continue
        owner = max((h for h in heads if h < i), default=None)
        known = list(groups[owner].values()) if owner is not None else []
        for rest, value in groups[i].items():
            if not any(t.shape == value.shape and torch.equal(t, value) for t in known):
                raise ModelFilesError(f"{what}: unexpected key {i}.{rest}")
    return out


def weight_files(root: str | Path, version: str) -> dict[str, Path]:
    """The files one CatVTON build reads, checked to exist."""
    if version not in VERSIONS:
        raise ModelFilesError(f"unknown CatVTON version {version!r}; choose one of {', '.join(VERSIONS)}")
    root = Path(root)
    attention_dir = root / "catvton" / VERSIONS[version] / "attention"
    return {
        "unet_config": root / "base" / "unet" / "config.json",
        "unet": _first_existing(root / "base" / "unet", WEIGHT_NAMES),
        "scheduler": root / "base" / "scheduler" / "scheduler_config.json",
        "attention": _first_existing(attention_dir, ATTENTION_NAMES),
        "vae_config": root / "vae" / "config.json",
        "vae": _first_existing(root / "vae", WEIGHT_NAMES),
    }


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of one weights file (safetensors, or a weights-only torch file)."""
    return state_dict_of(read_checkpoint(path), str(path), wrappers=("state_dict",))


def load_checkpoint(root: str | Path, version: str = "mix") -> CatVTONWeights:
    """Build the CatVTON UNet and VAE from an official folder and load every tensor strictly."""
    files = weight_files(root, version)
    unet = build_unet(read_json(files["unet_config"]))
    load_strict(unet, read_state_dict(files["unet"]), str(files["unet"]))
    attention = attention_state_dict(read_state_dict(files["attention"]), unet, str(files["attention"]))
    attn_names = {f"{name}.{k}" for name, m in self_attention_modules(unet) for k in m.state_dict()}
    missing, unexpected = attn_names - attention.keys(), attention.keys() - attn_names
    if missing or unexpected:
        raise ModelFilesError(
            f"{files['attention']} does not match the UNet's self-attention: "
            f"missing keys: {name_list(missing) or '-'}; unexpected keys: {name_list(unexpected) or '-'}"
        )
    state = unet.state_dict()
    bad = [k for k, v in attention.items() if v.shape != state[k].shape]
    if bad:
        raise ModelFilesError(f"{files['attention']} has mis-shaped tensors: {name_list(bad)}")
    state.update(attention)
    unet.load_state_dict(state, strict=True)
    vae = build_vae(read_json(files["vae_config"]))
    load_strict(vae, _rename_legacy_vae(read_state_dict(files["vae"])), str(files["vae"]))
    return CatVTONWeights(
        unet=unet,
        vae=vae,
        scheduler_config=read_json(files["scheduler"]),
        version=version,
        sources=[files["unet"], files["attention"], files["vae"]],
    )
