"""Loading CatVTON's official folder layout: strict keys, attention layouts, legacy VAE names."""

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.catvton import VERSIONS
from vtonpipe.models.catvton.checkpoint import load_checkpoint
from vtonpipe.models.catvton.definition import self_attention_modules
from vtonpipe.models.catvton.tiny import write_tiny_weights

ATTENTION = f"catvton/{VERSIONS['mix']}/attention/model.safetensors"
UNET = "base/unet/diffusion_pytorch_model.safetensors"
VAE = "vae/diffusion_pytorch_model.safetensors"


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    return write_tiny_weights(tmp_path_factory.mktemp("catvton-weights"), seed=0)


@pytest.fixture
def copy(official, tmp_path):
    return shutil.copytree(official, tmp_path / "w")


@pytest.fixture(scope="module")
def reference(official):
    return load_checkpoint(official, "mix")


def test_published_attention_layout(official, reference):
    keys = load_file(str(official / ATTENTION)).keys()
    # 8 list entries per attention (CatVTON's processor is a module), aliases dropped.
    assert sorted({int(k.split(".")[0]) for k in keys}) == [8 * i for i in range(len(self_attention_modules(reference.unet)))]
    assert {k.split(".", 1)[1] for k in keys} == {"to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight", "to_out.0.bias"}


def test_attention_weights_replace_the_base(official, reference):
    base = load_file(str(official / UNET))
    attention = load_file(str(official / ATTENTION))
    name = self_attention_modules(reference.unet)[0][0]
    loaded = reference.unet.state_dict()[f"{name}.to_q.weight"]
    assert torch.equal(loaded, attention["0.to_q.weight"])
    assert not torch.equal(loaded, base[f"{name}.to_q.weight"])
    # Everything else comes from the base, attn2 included (skipped at run time, kept in the file).
    cross = next(k for k in base if ".attn2.to_q." in k)
    assert torch.equal(reference.unet.state_dict()[cross], base[cross])


def test_missing_unet_key_is_named(copy):
    state = load_file(str(copy / UNET))
    del state["conv_in.weight"]
    save_file(state, str(copy / UNET))
    with pytest.raises(ModelFilesError, match="missing keys: conv_in.weight"):
        load_checkpoint(copy, "mix")


def test_unexpected_vae_key_is_named(copy):
    state = load_file(str(copy / VAE))
    state["decoder.extra.weight"] = torch.zeros(1)
    save_file(state, str(copy / VAE))
    with pytest.raises(ModelFilesError, match="unexpected keys: decoder.extra.weight"):
        load_checkpoint(copy, "mix")


def test_missing_attention_key_is_named(copy):
    state = load_file(str(copy / ATTENTION))
    del state["8.to_v.weight"]
    save_file(state, str(copy / ATTENTION))
    with pytest.raises(ModelFilesError, match=r"missing key 8\.to_v\.weight"):
        load_checkpoint(copy, "mix")


def test_misshaped_attention_tensor_is_named(copy):
    state = load_file(str(copy / ATTENTION))
    state["0.to_q.weight"] = state["0.to_q.weight"][:, :-1].contiguous()
    save_file(state, str(copy / ATTENTION))
    with pytest.raises(ModelFilesError, match="mis-shaped.*to_q.weight"):
        load_checkpoint(copy, "mix")


def test_missing_attention_file_says_how_to_fetch(copy):
    (copy / ATTENTION).unlink()
    with pytest.raises(ModelFilesError, match="models fetch catvton"):
        load_checkpoint(copy, "mix")
    with pytest.raises(ModelFilesError, match="unknown CatVTON version"):
        load_checkpoint(copy, "nope")


def test_other_attention_layouts_load_the_same(copy, reference):
    """Stride 7 (processor not a module), aliases kept, and full diffusers names."""
    state = load_file(str(copy / ATTENTION))
    modules = self_attention_modules(reference.unet)
    expected = reference.unet.state_dict()
    stride7 = {f"{int(k.split('.')[0]) // 8 * 7}.{k.split('.', 1)[1]}": v for k, v in state.items()}
    with_aliases = dict(state)
    for i in range(len(modules)):
        with_aliases[f"{8 * i + 1}.weight"] = state[f"{8 * i}.to_q.weight"].clone()
        with_aliases[f"{8 * i + 5}.bias"] = state[f"{8 * i}.to_out.0.bias"].clone()
    full = {f"{modules[int(k.split('.')[0]) // 8][0]}.{k.split('.', 1)[1]}": v for k, v in state.items()}
    for layout in (stride7, with_aliases, full):
        save_file(layout, str(copy / ATTENTION))
        got = load_checkpoint(copy, "mix").unet.state_dict()
        assert all(torch.equal(got[k], v) for k, v in expected.items())


def test_alias_that_differs_is_refused(copy):
    state = load_file(str(copy / ATTENTION))
    state["1.weight"] = torch.zeros_like(state["0.to_q.weight"])
    save_file(state, str(copy / ATTENTION))
    with pytest.raises(ModelFilesError, match=r"unexpected key 1\.weight"):
        load_checkpoint(copy, "mix")


def test_legacy_vae_attention_names(copy, reference):
    state = load_file(str(copy / VAE))
    renamed = {}
    for k, v in state.items():
        for new, old in (("to_q", "query"), ("to_k", "key"), ("to_v", "value"), ("to_out.0", "proj_attn")):
            if ".attentions." in k and f".{new}." in k:
                k = k.replace(f".{new}.", f".{old}.")
                v = v[:, :, None, None].contiguous() if v.ndim == 2 else v
        renamed[k] = v
    assert any(".query." in k for k in renamed)
    save_file(renamed, str(copy / VAE))
    got = load_checkpoint(copy, "mix").vae.state_dict()
    assert all(torch.equal(got[k], v) for k, v in reference.vae.state_dict().items())


def test_torch_bin_files_load_checkpoint_only(copy, reference):
    state = load_file(str(copy / UNET))
    (copy / UNET).unlink()
    torch.save(state, copy / "base/unet/diffusion_pytorch_model.bin")
    got = load_checkpoint(copy, "mix").unet.state_dict()
    assert all(torch.equal(got[k], v) for k, v in reference.unet.state_dict().items())
