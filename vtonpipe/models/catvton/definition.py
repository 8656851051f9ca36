"""CatVTON's torch modules (convert extra): diffusers UNet2DConditionModel with the text
cross-attention skipped, and the AutoencoderKL VAE.

CatVTON replaces every `attn2` processor by one that returns its input. In diffusers'
BasicTransformerBlock the processor receives norm2(h), so each block still computes
h + LayerNorm2(h): the trained model depends on that, so attn2 is skipped, never deleted.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor2_0


class SkipAttnProcessor:
    """Attention processor that returns the (already normalised) hidden states unchanged."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None):
        return hidden_states


def set_catvton_attention(unet: UNet2DConditionModel) -> None:
    """Self-attention with SDPA, cross-attention skipped."""
    processors = {
        name: AttnProcessor2_0() if name.endswith("attn1.processor") else SkipAttnProcessor()
        for name in unet.attn_processors
    }
    unet.set_attn_processor(processors)


def build_unet(config: dict[str, Any]) -> UNet2DConditionModel:
    """The inpainting UNet (9 input channels) from its diffusers config, CatVTON attention set."""
    if config.get("in_channels") != 9:
        raise ValueError(f"CatVTON needs the 9-channel inpainting UNet, config has in_channels={config.get('in_channels')}")
    unet = UNet2DConditionModel.from_config(config)
    set_catvton_attention(unet)
    return unet.eval()


def build_vae(config: dict[str, Any]) -> AutoencoderKL:
    return AutoencoderKL.from_config(config).eval()


def self_attention_modules(unet: UNet2DConditionModel) -> list[tuple[str, torch.nn.Module]]:
    """The `attn1` attention modules in named_modules order (16 in SD-1.5: down 6, mid 1, up 9)."""
    return [(name, m) for name, m in unet.named_modules() if name.endswith("attn1")]


class UNetStep(torch.nn.Module):
    """One UNet call as the IR sees it: (sample [2B,9,h,w], timestep [1]) -> noise [2B,4,h,w]."""

    def __init__(self, unet: UNet2DConditionModel):
        super().__init__()
        self.unet = unet

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
        # No text encoder: CatVTON passes encoder_hidden_states=None (attn2 is skipped anyway).
        return self.unet(sample, timestep, encoder_hidden_states=None, return_dict=False)[0]


class VAEEncoder(torch.nn.Module):
    """image [N,3,H,W] in [-1,1] -> posterior (mean, logvar); sampling stays outside the graph."""

    def __init__(self, vae: AutoencoderKL):
        super().__init__()
        self.vae = vae

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dist = self.vae.encode(image).latent_dist
        return dist.mean, dist.logvar


class VAEDecoder(torch.nn.Module):
    """unscaled latent [N,4,h,w] -> image [N,3,H,W] in about [-1,1]."""

    def __init__(self, vae: AutoencoderKL):
        super().__init__()
        self.vae = vae

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent, return_dict=False)[0]
