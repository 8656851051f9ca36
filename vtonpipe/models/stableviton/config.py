"""StableVITON's widths: the released VITONHD.yaml values as defaults, read back from a
checkpoint's tensor shapes, and checked against an official YAML config when one is given.

Shapes fix every width except the attention head counts, which come from the YAML (UNet
`num_heads`, default 8) or stay at the released values (CLIP ViT-L/14: 16 heads; mapper: 1).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vtonpipe.errors import ConfigError, ModelFilesError
from vtonpipe.models.stableviton.image_encoder import ImageEncoderConfig
from vtonpipe.models.stableviton.unet import UNetConfig
from vtonpipe.models.stableviton.vae import VAEConfig

UNET = "model.diffusion_model."
CONTROL = "control_model."
VAE = "first_stage_model."
CLIP = "cond_stage_model.transformer.vision_model."
MAPPER = "cond_stage_model.mapper.resblocks."


@dataclass(frozen=True)
class StableVITONConfig:
    unet: UNetConfig = field(default_factory=UNetConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    context_dim: int = 768  # proj_out: CLIP width -> cross-attention width
    scale_factor: float = 0.18215
    timesteps: int = 1000
    linear_start: float = 0.00085
    linear_end: float = 0.012


def _shape(state: Mapping[str, Any], key: str, source: str) -> tuple[int, ...]:
    if key not in state:
        raise ModelFilesError(f"{source} does not match StableVITON: missing key {key}")
    return tuple(state[key].shape)


def _count(state: Mapping[str, Any], prefix: str) -> int:
    """Number of consecutive integer children `prefix<i>.` present (0 when none)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for k in state if (m := pattern.match(k))}
    n = 0
    while n in found:
        n += 1
    return n


def _unet_config(state: Mapping[str, Any], source: str, num_heads: int) -> UNetConfig:
    mc, in_ch = _shape(state, UNET + "input_blocks.0.0.weight", source)[:2]
    n_blocks = _count(state, UNET + "input_blocks.")
    downs = [i for i in range(n_blocks) if UNET + f"input_blocks.{i}.0.op.weight" in state]
    levels = len(downs) + 1
    n_res = (n_blocks - 1 - len(downs)) // levels
    mult, attention = [], []
    for level in range(levels):
        first = 1 + level * (n_res + 1)
        mult.append(_shape(state, UNET + f"input_blocks.{first}.0.in_layers.2.weight", source)[0] // mc)
        if UNET + f"input_blocks.{first}.1.norm.weight" in state:
            attention.append(2**level)
    ctx_key = UNET + "middle_block.1.transformer_blocks.0.attn2.to_k.weight"
    return UNetConfig(
        in_channels=in_ch,
        out_channels=_shape(state, UNET + "out.2.weight", source)[0],
        model_channels=mc,
        channel_mult=tuple(mult),
        num_res_blocks=n_res,
        attention_resolutions=tuple(sorted(attention, reverse=True)),
        num_heads=num_heads,
        context_dim=_shape(state, ctx_key, source)[1],
        transformer_depth=max(1, _count(state, UNET + "middle_block.1.transformer_blocks.")),
        hint_channels=_shape(state, CONTROL + "cond_first_block.0.weight", source)[1],
    )


def _vae_config(state: Mapping[str, Any], source: str) -> VAEConfig:
    ch, in_ch = _shape(state, VAE + "encoder.conv_in.weight", source)[:2]
    levels = _count(state, VAE + "encoder.down.")
    return VAEConfig(
        ch=ch,
        ch_mult=tuple(_shape(state, VAE + f"encoder.down.{i}.block.0.conv1.weight", source)[0] // ch for i in range(levels)),
        num_res_blocks=_count(state, VAE + "encoder.down.0.block."),
        z_channels=_shape(state, VAE + "encoder.conv_out.weight", source)[0] // 2,
        embed_dim=_shape(state, VAE + "quant_conv.weight", source)[0] // 2,
        in_channels=in_ch,
        out_ch=_shape(state, VAE + "decoder.conv_out.weight", source)[0],
    )


def _image_encoder_config(state: Mapping[str, Any], source: str, base: ImageEncoderConfig) -> ImageEncoderConfig:
    hidden, _, patch, _ = _shape(state, CLIP + "embeddings.patch_embedding.weight", source)
    positions = _shape(state, CLIP + "embeddings.position_embedding.weight", source)[0]
    return dataclasses.replace(
        base,
        hidden_size=hidden,
        intermediate_size=_shape(state, CLIP + "encoder.layers.0.mlp.fc1.weight", source)[0],
        num_hidden_layers=_count(state, CLIP + "encoder.layers."),
        image_size=patch * round((positions - 1) ** 0.5),
        patch_size=patch,
        mapper_layers=_count(state, MAPPER),
    )


def infer_config(state: Mapping[str, Any], source: str, base: StableVITONConfig | None = None) -> StableVITONConfig:
    """The configuration whose modules have the shapes of `state` (head counts and schedule
    constants from `base`); a key needed to read a width is a ModelFilesError naming it."""
    base = base or StableVITONConfig()
    return dataclasses.replace(
        base,
        unet=_unet_config(state, source, base.unet.num_heads),
        vae=_vae_config(state, source),
        image_encoder=_image_encoder_config(state, source, base.image_encoder),
        context_dim=_shape(state, "proj_out.weight", source)[0],
        timesteps=_shape(state, "alphas_cumprod", source)[0],
    )


def _yaml_values(path: str | os.PathLike) -> dict[str, Any]:
    """The fields of an official StableVITON YAML (model.params...) this family uses."""
    import yaml

    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
        params = raw["model"]["params"]
        unet = params["unet_config"]["params"]
        control = params["control_stage_config"]["params"]
        vae = params["first_stage_config"]["params"]
        dd = vae["ddconfig"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a StableVITON config (model.params.unet_config ...): {exc}") from None
    values = {
        "unet.in_channels": unet.get("in_channels"),
        "unet.out_channels": unet.get("out_channels"),
        "unet.model_channels": unet.get("model_channels"),
        "unet.channel_mult": unet.get("channel_mult"),
        "unet.num_res_blocks": unet.get("num_res_blocks"),
        "unet.attention_resolutions": unet.get("attention_resolutions"),
        "unet.num_heads": unet.get("num_heads"),
        "unet.context_dim": unet.get("context_dim"),
        "unet.transformer_depth": unet.get("transformer_depth"),
        "unet.hint_channels": control.get("cond_first_ch"),
        "vae.ch": dd.get("ch"),
        "vae.ch_mult": dd.get("ch_mult"),
        "vae.num_res_blocks": dd.get("num_res_blocks"),
        "vae.z_channels": dd.get("z_channels"),
        "vae.embed_dim": vae.get("embed_dim"),
        "vae.in_channels": dd.get("in_channels"),
        "vae.out_ch": dd.get("out_ch"),
        "scale_factor": params.get("scale_factor"),
        "timesteps": params.get("timesteps"),
        "linear_start": params.get("linear_start"),
        "linear_end": params.get("linear_end"),
    }
    for key in ("model_channels", "channel_mult", "num_res_blocks", "attention_resolutions", "num_heads", "in_channels"):
        if key in control and control[key] != unet.get(key):
            raise ConfigError(f"{path}: control_stage_config {key} {control[key]} differs from unet_config {unet.get(key)}; "
                              "StableVITON's spatial encoder copies the UNet encoder")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}


def _get(cfg: StableVITONConfig, dotted: str) -> Any:
    obj: Any = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _replace(cfg: StableVITONConfig, dotted: str, value: Any) -> StableVITONConfig:
    head, _, rest = dotted.partition(".")
    if not rest:
        return dataclasses.replace(cfg, **{head: value})
    return dataclasses.replace(cfg, **{head: dataclasses.replace(getattr(cfg, head), **{rest: value})})


# What the YAML may set that tensor shapes cannot tell.
NOT_IN_SHAPES = ("unet.num_heads", "scale_factor", "linear_start", "linear_end")


def yaml_base(path: str | os.PathLike) -> StableVITONConfig:
    """Defaults overridden by what a YAML says about values the shapes cannot tell."""
    values = _yaml_values(path)
    cfg = StableVITONConfig()
    for key in NOT_IN_SHAPES:
        if key in values:
            cfg = _replace(cfg, key, values[key])
    return cfg


def check_against_yaml(cfg: StableVITONConfig, path: str | os.PathLike) -> None:
    """ConfigError naming each YAML value that disagrees with the checkpoint's shapes."""
    wrong = [f"{key}: {value} in the YAML, {_get(cfg, key)} in the checkpoint"
             for key, value in _yaml_values(path).items()
             if key not in NOT_IN_SHAPES and _normal(key, value) != _normal(key, _get(cfg, key))]
    if wrong:
        raise ConfigError(f"{path} does not describe this checkpoint: " + "; ".join(wrong))


def _normal(key: str, value: Any) -> Any:
    return tuple(sorted(value)) if key == "unet.attention_resolutions" else value
