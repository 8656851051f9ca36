"""The latent-diffusion UNet in the official key layout (the SD-1 "openaimodel" names:
input_blocks / middle_block / output_blocks / time_embed / out), the StableVITON decoder with its
warp blocks (warp_flow_blks, warp_zero_convs), and the spatial encoder (control_model).

Attention is plain softmax attention (torch's scaled_dot_product_attention, scale dim_head^-0.5).
Norms: ResBlocks and `out` GroupNorm(32, eps 1e-5); transformer input norms GroupNorm(32, eps 1e-6);
LayerNorms eps 1e-5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class UNetConfig:
    """Widths of the UNet and the spatial encoder (VITONHD.yaml values as defaults)."""

    in_channels: int = 13
    out_channels: int = 4
    model_channels: int = 320
    channel_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (4, 2, 1)
    num_heads: int = 8
    context_dim: int = 768
    transformer_depth: int = 1
    hint_channels: int = 4

    @property
    def input_block_channels(self) -> list[int]:
        """Output channels of each input block, in order."""
        chans = [self.model_channels]
        for level, mult in enumerate(self.channel_mult):
            chans += [mult * self.model_channels] * self.num_res_blocks
            if level != len(self.channel_mult) - 1:
                chans.append(mult * self.model_channels)
        return chans

    @property
    def plain_output_blocks(self) -> int:
        """Output blocks of the lowest level, which run without a warp block."""
        return self.num_res_blocks + 1

    @property
    def warp_blocks(self) -> int:
        return len(self.input_block_channels) - self.plain_output_blocks

    @property
    def warp_query_channels(self) -> list[int]:
        """Channels of the decoder feature entering each warped output block, in decoder order."""
        out = []
        for level, mult in reversed(list(enumerate(self.channel_mult))):
            out += [mult * self.model_channels] * (self.num_res_blocks + 1)
        return out[self.plain_output_blocks - 1: -1]

    @property
    def warp_key_channels(self) -> list[int]:
        """Channels of the spatial-encoder feature each warp block attends to, in decoder order."""
        return list(reversed(self.input_block_channels[: self.warp_blocks]))


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """[cos, sin] of t * exp(-ln(max_period) * i / (dim/2)), i < dim/2; t is [B]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def group_norm(channels: int, eps: float = 1e-5) -> nn.GroupNorm:
    return nn.GroupNorm(32, channels, eps=eps)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv, plus the projected timestep embedding, GroupNorm-SiLU-conv, + skip."""

    def __init__(self, channels: int, emb_channels: int, out_channels: int | None = None):
        super().__init__()
        out_channels = out_channels or channels
        self.in_layers = nn.Sequential(group_norm(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, out_channels))
        self.out_layers = nn.Sequential(group_norm(out_channels), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Attention(nn.Module):
    """Multi-head softmax attention; keys and values come from `context` (default: x itself)."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, dim_head: int):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        b = x.shape[0]
        q, k, v = (t.reshape(b, t.shape[1], self.heads, -1).transpose(1, 2)
                   for t in (self.to_q(x), self.to_k(context), self.to_v(context)))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(out.transpose(1, 2).reshape(b, x.shape[1], -1))


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TransformerBlock(nn.Module):
    """Self-attention, cross-attention to the context, GEGLU feed-forward; pre-LayerNorm, residual."""

    def __init__(self, dim: int, heads: int, dim_head: int, context_dim: int):
        super().__init__()
        self.attn1 = Attention(dim, dim, heads, dim_head)
        self.ff = FeedForward(dim)
        self.attn2 = Attention(dim, context_dim, heads, dim_head)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    """GroupNorm, 1x1 conv in, transformer blocks over the H*W tokens, 1x1 conv out, + input.
    Used inside the UNets (context: the CLIP token) and as warp block (context: encoder tokens)."""

    def __init__(self, channels: int, heads: int, context_dim: int, depth: int = 1):
        super().__init__()
        dim_head = channels // heads
        self.norm = group_norm(channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, heads * dim_head, 1)
        self.transformer_blocks = nn.ModuleList(
            TransformerBlock(heads * dim_head, heads, dim_head, context_dim) for _ in range(depth))
        self.proj_out = nn.Conv2d(heads * dim_head, channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        for block in self.transformer_blocks:
            tokens = block(tokens, context)
        return self.proj_out(tokens.transpose(1, 2).reshape(b, -1, h, w)) + x


class TimestepSequential(nn.Sequential):
    """Layers of one UNet block: ResBlocks take the timestep embedding, transformers the context."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            else:
                x = layer(x)
        return x


def _time_embed(cfg: UNetConfig) -> nn.Sequential:
    mc = cfg.model_channels
    return nn.Sequential(nn.Linear(mc, 4 * mc), nn.SiLU(), nn.Linear(4 * mc, 4 * mc))


def _transformer(cfg: UNetConfig, ch: int) -> SpatialTransformer:
    return SpatialTransformer(ch, cfg.num_heads, cfg.context_dim, cfg.transformer_depth)


def _encoder(cfg: UNetConfig) -> tuple[nn.ModuleList, TimestepSequential]:
    """input_blocks and middle_block of an SD-1 UNet."""
    mc, emb = cfg.model_channels, 4 * cfg.model_channels
    blocks = nn.ModuleList([TimestepSequential(nn.Conv2d(cfg.in_channels, mc, 3, padding=1))])
    ch, ds = mc, 1
    for level, mult in enumerate(cfg.channel_mult):
        for _ in range(cfg.num_res_blocks):
            layers: list[nn.Module] = [ResBlock(ch, emb, mult * mc)]
            ch = mult * mc
            if ds in cfg.attention_resolutions:
                layers.append(_transformer(cfg, ch))
            blocks.append(TimestepSequential(*layers))
        if level != len(cfg.channel_mult) - 1:
            blocks.append(TimestepSequential(Downsample(ch)))
            ds *= 2
    middle = TimestepSequential(ResBlock(ch, emb), _transformer(cfg, ch), ResBlock(ch, emb))
    return blocks, middle


class StableVITONUNet(nn.Module):
    """The denoising UNet (`model.diffusion_model`). Before each output block past the lowest
    level, the decoder feature h becomes h + Z(T(h, f)), with T a SpatialTransformer whose
    cross-attention reads the spatial-encoder feature f of the same resolution and Z a 1x1 conv."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        mc, emb = cfg.model_channels, 4 * cfg.model_channels
        self.time_embed = _time_embed(cfg)
        self.input_blocks, self.middle_block = _encoder(cfg)
        skips = cfg.input_block_channels
        ch, ds = cfg.channel_mult[-1] * mc, 2 ** (len(cfg.channel_mult) - 1)
        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.channel_mult))):
            for i in range(cfg.num_res_blocks + 1):
                layers: list[nn.Module] = [ResBlock(ch + skips.pop(), emb, mult * mc)]
                ch = mult * mc
                if ds in cfg.attention_resolutions:
                    layers.append(_transformer(cfg, ch))
                if level and i == cfg.num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepSequential(*layers))
        self.out = nn.Sequential(group_norm(ch), nn.SiLU(), nn.Conv2d(mc, cfg.out_channels, 3, padding=1))
        pairs = zip(cfg.warp_query_channels, cfg.warp_key_channels)
        self.warp_flow_blks = nn.ModuleList(SpatialTransformer(q, cfg.num_heads, k, cfg.transformer_depth) for q, k in pairs)
        self.warp_zero_convs = nn.ModuleList(nn.Conv2d(q, q, 1) for q in cfg.warp_query_channels)

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                features: list[torch.Tensor]) -> torch.Tensor:
        """x [B,13,h,w], t [B], context [B,1,768], features: spatial-encoder input-block outputs
        0..warp_blocks-1 (the deepest feeds the first warp block)."""
        emb = self.time_embed(timestep_embedding(t, self.cfg.model_channels))
        hs = []
        h = x
        for block in self.input_blocks:
            h = block(h, emb, context)
            hs.append(h)
        h = self.middle_block(h, emb, context)
        plain = self.cfg.plain_output_blocks
        for k, block in enumerate(self.output_blocks):
            if k >= plain:
                i = k - plain
                tokens = features[len(features) - 1 - i].flatten(2).transpose(1, 2)
                h = h + self.warp_zero_convs[i](self.warp_flow_blks[i](h, tokens))
            h = block(torch.cat([h, hs.pop()], dim=1), emb, context)
        return self.out(h)


class SpatialEncoder(nn.Module):
    """The garment's spatial encoder (`control_model`): an SD-1 UNet encoder on the same 13-channel
    input, with the cloth latent added through `cond_first_block` right after input block 0.
    Only input blocks 0..warp_blocks-1 feed the UNet; the rest and the middle block are kept for
    the checkpoint's keys and never run."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        self.time_embed = _time_embed(cfg)
        self.input_blocks, self.middle_block = _encoder(cfg)
        self.cond_first_block = TimestepSequential(nn.Conv2d(cfg.hint_channels, cfg.model_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, hint: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> list[torch.Tensor]:
        emb = self.time_embed(timestep_embedding(t, self.cfg.model_channels))
        features = []
        h = x
        for k, block in enumerate(self.input_blocks[: self.cfg.warp_blocks]):
            h = block(h, emb, context)
            if k == 0:
                h = h + self.cond_first_block(hint, emb, context)
            features.append(h)
        return features
