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


def _layer(block: torch.nn.Module, i: int, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
    """Layer i of a UNet block: its resnet, then its transformer if the block has them."""
    x = block.resnets[i](x, emb)
    if getattr(block, "attentions", None) is not None:
        x = block.attentions[i](x, return_dict=False)[0]
    return x


def _down(block: torch.nn.Module, x: torch.Tensor, emb: torch.Tensor, layers: int | None = None):
    """The first `layers` layers of a down block (all, then its downsampler, when None) -> (x, skips)."""
    skips = ()
    for i in range(len(block.resnets) if layers is None else layers):
        x = _layer(block, i, x, emb)
        skips += (x,)
    if layers is None and block.downsamplers is not None:
        for downsampler in block.downsamplers:
            x = downsampler(x)
        skips += (x,)
    return x, skips


def _up(block: torch.nn.Module, x: torch.Tensor, emb: torch.Tensor, skips: tuple, start: int = 0,
        stop: int | None = None) -> tuple[torch.Tensor, tuple]:
    """Layers start..stop of an up block, each on x concatenated with the last remaining skip, and
    its upsampler after its last layer -> (x, the skips left)."""
    stop = len(block.resnets) if stop is None else stop
    for i in range(start, stop):
        x = _layer(block, i, torch.cat([x, skips[-1]], dim=1), emb)
        skips = skips[:-1]
    if stop == len(block.resnets) and block.upsamplers is not None:
        for upsampler in block.upsamplers:
            x = upsampler(x)
    return x, skips


def deep_cache_layer_limit(unet: UNet2DConditionModel) -> int:
    """Most layers a shallow part can hold: the outermost up block's, fed by conv_in and the first down block."""
    return min(len(unet.up_blocks[-1].resnets), len(unet.down_blocks[0].resnets) + 1)


class _SplitUNet(torch.nn.Module):
    """The UNet forward written out layer by layer (diffusers' own resnets, transformers and
    samplers, in diffusers' order), cut inside the outermost up block: the shallow part is
    conv_in, the first `layers - 1` layers of the first down block, the last `layers` layers of
    the last up block and the output head; the feature it reuses is the input of the first of
    those up layers.

    Covers the configs CatVTON uses (no class, added or hint embeddings, no input centring, no
    FreeU) at sizes divisible by the UNet's total downsampling (export checks it), where
    diffusers passes no upsample_size.
    """

    def __init__(self, unet: UNet2DConditionModel, layers: int):
        super().__init__()
        cfg = unet.config
        if (unet.class_embedding is not None or cfg.addition_embed_type is not None or unet.time_embed_act is not None
                or cfg.center_input_sample or unet.encoder_hid_proj is not None
                or any(getattr(b, "s1", None) for b in unet.up_blocks)):
            raise ValueError("the split UNet covers plain inpainting UNets only (no class/added embeddings, no FreeU)")
        limit = deep_cache_layer_limit(unet)
        if not 1 <= layers <= limit:
            raise ValueError(f"deep-cache layers must be in 1..{limit}, got {layers}")
        self.unet, self.layers = unet, layers

    def embedding(self, sample: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
        return self.unet.time_embedding(self.unet.get_time_embed(sample=sample, timestep=timestep), None)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        unet = self.unet
        if unet.conv_norm_out is not None:
            x = unet.conv_act(unet.conv_norm_out(x))
        return unet.conv_out(x)


class UNetDeepStep(_SplitUNet):
    """Full UNet call that also returns the feature the shallow call reuses:
    (sample [N,9,h,w], timestep [1]) -> (noise [N,4,h,w], feature). Same operations as UNetStep."""

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        unet = self.unet
        emb = self.embedding(sample, timestep)
        x = unet.conv_in(sample)
        skips = (x,)
        for block in unet.down_blocks:
            x, res = _down(block, x, emb)
            skips += res
        x = unet.mid_block(x, emb)
        for block in unet.up_blocks[:-1]:
            n = len(block.resnets)
            x, skips = _up(block, x, emb, skips[-n:])[0], skips[:-n]
        last = unet.up_blocks[-1]
        cut = len(last.resnets) - self.layers
        # The layers before the cut consume the last skips; the shallow part the first `layers`.
        feature, skips = _up(last, x, emb, skips, 0, cut)
        return self.head(_up(last, feature, emb, skips, cut)[0]), feature


class UNetShallowStep(_SplitUNet):
    """The outer layers only, on a cached feature: (sample, timestep, feature) -> noise.
    Given the feature of the same (sample, timestep) it returns UNetDeepStep's noise."""

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        unet = self.unet
        emb = self.embedding(sample, timestep)
        x = unet.conv_in(sample)
        _, res = _down(unet.down_blocks[0], x, emb, self.layers - 1)
        last = unet.up_blocks[-1]
        return self.head(_up(last, feature, emb, (x,) + res, len(last.resnets) - self.layers)[0])
