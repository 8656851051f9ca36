"""CatVTON with seeded random weights at full SD-1.5 size (cost does not depend on weight values)
or at the tiny preset's size, and its IR folder, for the bench scripts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from vtonpipe.models.catvton.checkpoint import CatVTONWeights
from vtonpipe.models.catvton.definition import build_unet, build_vae
from vtonpipe.models.catvton.export import export_ir
from vtonpipe.models.catvton.tiny import SD_SCHEDULER, TINY_UNET, TINY_VAE

# runwayml/stable-diffusion-inpainting unet/config.json (the keys that shape the graph).
SD15_INPAINT_UNET = {
    "sample_size": 64,
    "in_channels": 9,
    "out_channels": 4,
    "block_out_channels": [320, 640, 1280, 1280],
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "layers_per_block": 2,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
}
# stabilityai/sd-vae-ft-mse config.json (the keys that shape the graph).
SD_VAE_FT_MSE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 256,
    "scaling_factor": 0.18215,
}
PRESETS = {"sd15": (SD15_INPAINT_UNET, SD_VAE_FT_MSE, (512, 384)), "tiny": (TINY_UNET, TINY_VAE, (64, 48))}


def random_weights(preset: str, seed: int = 0) -> CatVTONWeights:
    """The CatVTON UNet and VAE with diffusers' default initialisation under a fixed seed."""
    unet_config, vae_config, _ = PRESETS[preset]
    torch.manual_seed(seed)
    return CatVTONWeights(unet=build_unet(unet_config), vae=build_vae(vae_config), scheduler_config=dict(SD_SCHEDULER),
                          version="mix")


def ir_folder(weights: Callable[[], CatVTONWeights], folder: Path, height: int, width: int) -> Path:
    """Batch-1 IR folder of `weights()`, converted unless `folder` already holds one of this size."""
    info = folder / "model.json"
    if info.is_file():
        params = json.loads(info.read_text())
        if (params.get("height"), params.get("width"), params.get("batch")) == (height, width, 1) and "deep_cache" in params:
            print(f"reusing the IR folder {folder}")
            return folder
    start = time.perf_counter()
    export_ir(weights(), folder, height=height, width=width, batch=1, variant="random")
    print(f"converted to {folder} in {time.perf_counter() - start:.0f} s")
    return folder
