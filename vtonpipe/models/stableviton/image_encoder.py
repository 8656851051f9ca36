"""The garment image encoder in the official key layout (`cond_stage_model`): a CLIP ViT vision
tower (`transformer.vision_model.*`, transformers' CLIPVisionModel built from a config), its
pooled output through a small residual transformer (`mapper.resblocks.*`) and `final_ln`.

The ViT takes the cloth squashed to 224x224 (bilinear, no antialiasing), mapped from [-1, 1] to
[0, 1] and normalised with CLIP's mean and std; quick-GELU, LayerNorm eps 1e-5. The mapper runs
over a single token, with exact-erf GELU in its MLP.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ImageEncoderConfig:
    """CLIP ViT-L/14 and the 5-block mapper as released (the defaults)."""

    hidden_size: int = 1024
    intermediate_size: int = 4096
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    image_size: int = 224
    patch_size: int = 14
    mapper_layers: int = 5
    mapper_heads: int = 1


class _Tower(nn.Module):
    """Holds a CLIPVisionModel as `vision_model` (transformers >= 5 dropped that level itself)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.vision_model = model

    def forward(self, pixel_values: torch.Tensor):
        return self.vision_model(pixel_values=pixel_values)


def clip_vision_tower(cfg: ImageEncoderConfig) -> nn.Module:
    """A CLIPVisionModel whose state_dict keys start with `vision_model.`, on any transformers."""
    from transformers import CLIPVisionConfig, CLIPVisionModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()  # its notes on config fields a vision tower never uses
    config = CLIPVisionConfig(
        hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers, num_attention_heads=cfg.num_attention_heads,
        image_size=cfg.image_size, patch_size=cfg.patch_size, hidden_act="quick_gelu", layer_norm_eps=1e-5,
    )
    model = CLIPVisionModel(config)
    return model if hasattr(model, "vision_model") else _Tower(model)


class MapperAttention(nn.Module):
    """Softmax attention whose fused projection `c_qkv` holds q, k, v per head, one after the other."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.c_qkv = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, width = x.shape
        qkv = self.c_qkv(x).reshape(b, n, self.heads, 3 * width // self.heads).transpose(1, 2)
        q, k, v = qkv.chunk(3, dim=-1)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.c_proj(out.transpose(1, 2).reshape(b, n, width))


class MapperMLP(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x)))


class MapperBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = MapperAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = MapperMLP(width)
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Mapper(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList(MapperBlock(width, heads) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x)
        return x


class ImageEncoder(nn.Module):
    """CLIP-normalised 224x224 pixels -> [B, 1, hidden] garment embedding."""

    def __init__(self, cfg: ImageEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.transformer = clip_vision_tower(cfg)
        self.mapper = Mapper(cfg.hidden_size, cfg.mapper_layers, cfg.mapper_heads)
        self.final_ln = nn.LayerNorm(cfg.hidden_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pooled = self.transformer(pixel_values=pixel_values).pooler_output
        return self.final_ln(self.mapper(pooled[:, None]))


def clip_pixels(cloth: torch.Tensor, size: int) -> torch.Tensor:
    """Cloth in [-1, 1] at model size -> CLIP input: squashed to size x size, normalised."""
    x = F.interpolate(cloth, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(CLIP_MEAN, dtype=x.dtype).reshape(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=x.dtype).reshape(1, 3, 1, 1)
    return ((x + 1) / 2 - mean) / std
