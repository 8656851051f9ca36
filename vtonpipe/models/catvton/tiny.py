"""Tiny CatVTON preset: the real architecture with small widths and seeded random weights, written
in the official folder layout (base/, catvton/<version>/attention/, vae/) and converted with the
same code path as real weights. Used by tests and the demo.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from vtonpipe.models.catvton import VERSIONS
from vtonpipe.models.catvton.definition import build_unet, build_vae, self_attention_modules
from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase

TINY_UNET = {
    "_class_name": "UNet2DConditionModel",
    "sample_size": 8,
    "in_channels": 9,
    "out_channels": 4,
    "block_out_channels": [32, 64],
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "layers_per_block": 1,
    "cross_attention_dim": 32,
    "attention_head_dim": 8,
    "norm_num_groups": 8,
}
TINY_VAE = {
    "_class_name": "AutoencoderKL",
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": [8, 16, 16, 16],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 64,
    "scaling_factor": 0.18215,
}
# The SD-1.5 inpainting repo ships a PNDM config; DDIM reads the shared keys.
SD_SCHEDULER = {
    "_class_name": "PNDMScheduler",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}


def _randomize(module: torch.nn.Module, generator: torch.Generator) -> None:
    # Default inits leave zero convs (conv_out...) that would hide errors; use a fixed scale.
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or p.ndim == 1:
                centre = 1.0 if "norm" in name and name.endswith("weight") else 0.0  # norm scales near 1
                p.copy_(torch.randn(p.shape, generator=generator) * 0.02 + centre)
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in**0.5)


def attention_checkpoint(unet: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The tensors CatVTON publishes: the state_dict of a ModuleList of every module whose name
    contains "attn1", aliased tensors dropped after their first name (as accelerate saves it).

    CatVTON's attention processor is an nn.Module, so each attention contributes 8 entries
    (itself, to_q, to_k, to_v, to_out, to_out.0, to_out.1, processor); diffusers' own processor
    is not a module, so a parameter-free placeholder keeps the published stride.
    """
    entries: list[torch.nn.Module] = []
    for _, attn in self_attention_modules(unet):
        entries.extend(m for _, m in attn.named_modules())
        if not isinstance(attn.processor, torch.nn.Module):
            entries.append(torch.nn.Module())
    seen: set[int] = set()
    out = {}
    for key, value in torch.nn.ModuleList(entries).state_dict().items():
        if value.data_ptr() in seen:
            continue
        seen.add(value.data_ptr())
        out[key] = value.detach().clone().contiguous()
    return out


def write_tiny_weights(root: str | Path, *, seed: int = 0, version: str = "mix") -> Path:
    """Write seeded random weights in the official layout under `root`; returns root."""
    root = Path(root)
    generator = torch.Generator().manual_seed(seed)
    base_unet = build_unet(TINY_UNET)
    _randomize(base_unet, generator)
    tuned = build_unet(TINY_UNET)
    tuned.load_state_dict(base_unet.state_dict())
    # The try-on checkpoint replaces only self-attention: give it different values than the base.
    for name, p in tuned.named_parameters():
        if ".attn1." in name:
            with torch.no_grad():
                p.add_(torch.randn(p.shape, generator=generator) * 0.05)
    vae = build_vae(TINY_VAE)
    _randomize(vae, generator)
    files = {
        root / "base" / "unet" / "config.json": TINY_UNET,
        root / "base" / "scheduler" / "scheduler_config.json": SD_SCHEDULER,
        root / "vae" / "config.json": TINY_VAE,
    }
    for path, config in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=2))
    for module, folder in ((base_unet, root / "base" / "unet"), (vae, root / "vae")):
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / "diffusion_pytorch_model.safetensors"))
    attention_dir = root / "catvton" / VERSIONS[version] / "attention"
    attention_dir.mkdir(parents=True, exist_ok=True)
    save_file(attention_checkpoint(tuned), str(attention_dir / "model.safetensors"))
    return root


def build_tiny_ir(out_dir: str | Path, *, seed: int = 0, height: int = 64, width: int = 48, batch: int = 1,
                  deep_cache_layers: int = 1) -> Path:
    """Tiny weights under out_dir/tiny-weights, converted into the IR folder out_dir (returned)."""
    from vtonpipe.models.catvton.checkpoint import load_checkpoint
    from vtonpipe.models.catvton.export import export_ir

    out_dir = Path(out_dir)
    with phase(f"tiny weights written to {out_dir / TINY_WEIGHTS}"):
        weights = write_tiny_weights(out_dir / TINY_WEIGHTS, seed=seed)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return export_ir(load_checkpoint(weights, "mix"), out_dir, height=height, width=width, batch=batch,
                         deep_cache_layers=deep_cache_layers, variant="tiny")
