"""Loading VITONHD.ckpt-layout files: strict by name and shape, unread keys dropped, widths from
shapes, an official-style YAML checked against them, and the image sizes the model can run."""

import dataclasses

import pytest
import torch

from vtonpipe.errors import ConfigError, ModelFilesError
from vtonpipe.models.stableviton.checkpoint import load_checkpoint
from vtonpipe.models.stableviton.export import ir_shapes
from vtonpipe.models.stableviton.tiny import TINY_CONFIG, write_tiny_weights

POSITION_IDS = "cond_stage_model.transformer.vision_model.embeddings.position_ids"


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    path = write_tiny_weights(tmp_path_factory.mktemp("stableviton-ckpt"), seed=0)
    return torch.load(path, weights_only=True)["state_dict"]


def save(tmp_path, state, wrap=True):
    path = tmp_path / "VITONHD.ckpt"
    torch.save({"state_dict": state, "epoch": 3, "global_step": 1000} if wrap else state, path)
    return path


def test_official_layout_loads_and_unread_keys_are_dropped(tmp_path, state):
    assert "lastzc.weight" in state and "posterior_mean_coef1" in state
    loaded = load_checkpoint(save(tmp_path, {**state, POSITION_IDS: torch.arange(257)[None]}))
    assert loaded.config == TINY_CONFIG
    control = loaded.model.control_model
    assert len(control.input_blocks) == 9 and not hasattr(control, "middle_block")
    assert torch.equal(loaded.model.alphas_cumprod, state["alphas_cumprod"])
    keys = set(loaded.model.state_dict())
    assert not any(k.startswith("lastzc.") or k == "posterior_mean_coef1" for k in keys)


def test_bare_state_dict_loads(tmp_path, state):
    assert load_checkpoint(save(tmp_path, state, wrap=False)).config == TINY_CONFIG


@pytest.mark.parametrize("key", ["model.diffusion_model.warp_flow_blks.3.transformer_blocks.0.attn2.to_v.weight",
                                 "alphas_cumprod", "model.diffusion_model.input_blocks.0.0.weight"])
def test_missing_key_is_named(tmp_path, state, key):
    with pytest.raises(ModelFilesError, match=f"missing key.*{key.replace('.', '[.]')}"):
        load_checkpoint(save(tmp_path, {k: v for k, v in state.items() if k != key}))


def test_misshapen_and_unexpected_keys_are_named(tmp_path, state):
    key = "model.diffusion_model.warp_zero_convs.0.weight"
    bad = {**state, key: state[key][:, :-1], "model.diffusion_model.extra.weight": torch.zeros(1)}
    with pytest.raises(ModelFilesError) as err:
        load_checkpoint(save(tmp_path, bad))
    assert key in str(err.value) and "model.diffusion_model.extra.weight" in str(err.value)


def test_non_tensor_entry_is_refused(tmp_path, state):
    with pytest.raises(ModelFilesError, match="learnable_vector"):
        load_checkpoint(save(tmp_path, {**state, "learnable_vector": [1.0]}))


OFFICIAL_STYLE_YAML = """\
model:
  target: cldm.cldm.ControlLDM
  params:
    linear_start: 0.00085
    linear_end: 0.0120
    timesteps: 1000
    scale_factor: 0.18215
    control_stage_config:
      params: {{in_channels: 13, model_channels: {mc}, attention_resolutions: [4, 2, 1], num_res_blocks: 2,
               channel_mult: [1, 2, 4, 4], num_heads: {heads}, context_dim: 768, cond_first_ch: 4}}
    unet_config:
      params: {{in_channels: 13, out_channels: 4, model_channels: {mc}, attention_resolutions: [4, 2, 1],
               num_res_blocks: 2, channel_mult: [1, 2, 4, 4], num_heads: {heads}, transformer_depth: 1,
               context_dim: 768}}
    first_stage_config:
      params:
        embed_dim: 4
        ddconfig: {{double_z: true, z_channels: 4, in_channels: 3, out_ch: 3, ch: 32, ch_mult: [1, 2, 2, 2],
                   num_res_blocks: 1}}
"""


def test_yaml_config_sets_heads_and_is_checked(tmp_path, state):
    ckpt = save(tmp_path, state)
    config = tmp_path / "tiny.yaml"
    config.write_text(OFFICIAL_STYLE_YAML.format(mc=32, heads=4))
    loaded = load_checkpoint(ckpt, config)
    assert loaded.config == dataclasses.replace(TINY_CONFIG, unet=dataclasses.replace(TINY_CONFIG.unet, num_heads=4))
    assert config in loaded.sources
    config.write_text(OFFICIAL_STYLE_YAML.format(mc=320, heads=8))
    with pytest.raises(ConfigError, match="unet.model_channels: 320 in the YAML, 32 in the checkpoint"):
        load_checkpoint(ckpt, config)


@pytest.mark.parametrize("height,width", [(256, 192), (500, 384), (512, 0)])
def test_sizes_the_model_cannot_run_are_refused(height, width):
    with pytest.raises(ConfigError, match=f"{height}x{width}"):
        ir_shapes(TINY_CONFIG, height, width, 1)


def test_ir_shapes():
    shapes = ir_shapes(TINY_CONFIG, 512, 384, 2)
    assert shapes["vae_encoder"]["image"] == [8, 3, 512, 384]
    assert shapes["denoiser"] == {"x": [2, 4, 64, 48], "cond": [2, 9, 64, 48], "cloth_latent": [2, 4, 64, 48],
                                  "context": [2, 1, 768], "t": [2]}
    assert ir_shapes(TINY_CONFIG, 64, 64, 1)["vae_decoder"]["latent"] == [1, 4, 8, 8]


def test_released_widths_give_the_released_parameter_counts():
    # Counts of the official model at its released config (built on the meta device: no memory).
    from vtonpipe.models.stableviton.config import StableVITONConfig
    from vtonpipe.models.stableviton.definition import StableVITON

    with torch.device("meta"):
        model = StableVITON(StableVITONConfig())
    count = lambda *modules: sum(p.numel() for m in modules for p in m.parameters())  # noqa: E731
    unet = model.model.diffusion_model
    warp = count(unet.warp_flow_blks, unet.warp_zero_convs)
    assert (count(unet) - warp, warp) == (859_546_884, 179_778_560)
    control = model.control_model
    assert count(control) == 348_750_720
    assert count(*control.input_blocks[9:], control.middle_block) == 174_062_080  # computed, then discarded
    assert (count(model.first_stage_model), count(model.cond_stage_model.transformer)) == (83_653_863, 303_179_776)
    # + 20 for the deprecated lastzc conv the loader drops: 63,771,156 and 1,838,680,959 in all.
    assert count(model.cond_stage_model.mapper, model.cond_stage_model.final_ln, model.proj_out) + 768 == 63_771_136
    assert count(model) == 1_838_680_939


def test_family_follows_the_protocol():
    from vtonpipe.models.families import protocol_problems, tiny_options

    assert protocol_problems("stableviton") == []
    assert tiny_options("stableviton") == {"height": 128, "width": 64, "batch": 1}
