"""DM-VTON checkpoint loading: official layout, training-style files, refused globals, strict keys."""

import argparse
import zipfile

import numpy as np
import pytest
import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models import families
from vtonpipe.models.dmvton.checkpoint import load_checkpoint
from vtonpipe.models.dmvton.definition import MobileAFWM, MobileUNet

WARP, GEN = "dmvton_pf_warp.pt", "dmvton_pf_gen.pt"


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """The official file layout with torch's default initialisation (quick to write)."""
    root = tmp_path_factory.mktemp("dmvton-weights")
    torch.manual_seed(3)
    torch.save(MobileAFWM().state_dict(), root / WARP)
    torch.save(MobileUNet().state_dict(), root / GEN)
    return root, torch.load(root / WARP, weights_only=True), torch.load(root / GEN, weights_only=True)


def folder_with(tmp_path, warp_obj, gen_obj):
    torch.save(warp_obj, tmp_path / WARP)
    torch.save(gen_obj, tmp_path / GEN)
    return tmp_path


def test_family_follows_the_protocol():
    assert families.protocol_problems("dmvton") == []


def test_official_layout_loads_strictly(official):
    root, warp_state, _ = official
    loaded = load_checkpoint(root)
    assert [p.name for p in loaded.sources] == [WARP, GEN]
    assert set(loaded.warp.state_dict()) == set(warp_state)
    torch.testing.assert_close(loaded.warp.state_dict()["aflow_net.netRefine.4.0.weight"],
                               warp_state["aflow_net.netRefine.4.0.weight"])
    assert not loaded.warp.training and not loaded.generator.training


def test_missing_file_is_named(tmp_path, official):
    torch.save(official[1], tmp_path / WARP)
    with pytest.raises(ModelFilesError, match=GEN):
        load_checkpoint(tmp_path)


def test_missing_key_is_refused_by_name(tmp_path, official):
    _, warp_state, gen_state = official
    warp_state = dict(warp_state)
    del warp_state["aflow_net.netMain.2.4.bias"]
    with pytest.raises(ModelFilesError, match=r"missing keys: aflow_net\.netMain\.2\.4\.bias"):
        load_checkpoint(folder_with(tmp_path, warp_state, gen_state))


def test_training_checkpoint_with_a_numpy_fid_loads(tmp_path, official):
    _, warp_state, gen_state = official
    optimizer = {"state": {}, "param_groups": [{"lr": 5e-5, "params": [0, 1]}]}
    wrap = lambda state: {"epoch": 100, "best_fid": np.float64(28.2), "model": state, "optimizer": optimizer}
    loaded = load_checkpoint(folder_with(tmp_path, wrap(warp_state), wrap(gen_state)))
    torch.testing.assert_close(loaded.generator.state_dict()["conv_last.weight"], gen_state["conv_last.weight"])


def test_numpy_1_scalar_name_loads(tmp_path, official):
    """numpy 1.x pickles name the scalar constructor numpy.core.multiarray.scalar."""
    _, warp_state, gen_state = official
    folder = folder_with(tmp_path, {"best_fid": np.float64(28.2), "model": warp_state}, gen_state)
    with zipfile.ZipFile(folder / WARP) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(folder / WARP, "w") as dst:
        for info, data in entries:
            if info.filename.endswith("data.pkl"):
                assert b"cnumpy._core.multiarray\nscalar" in data
                data = data.replace(b"cnumpy._core.multiarray\nscalar", b"cnumpy.core.multiarray\nscalar")
            dst.writestr(info, data)
    load_checkpoint(folder)


def test_any_other_global_is_refused(tmp_path, official):
    _, warp_state, gen_state = official
    folder = folder_with(tmp_path, {"model": warp_state, "opt": argparse.Namespace(lr=5e-5)}, gen_state)
    with pytest.raises(ModelFilesError, match=r"(?s)dmvton_pf_warp\.pt: refused, not a weights-only torch file.*argparse.Namespace"):
        load_checkpoint(folder)


def test_diverging_shared_smoothing_keys_are_refused(tmp_path, official):
    _, warp_state, gen_state = official
    warp_state = {k: v.clone() for k, v in warp_state.items()}
    warp_state["cond_mobile.smooth_layers.3.weight"] += 1.0
    with pytest.raises(ModelFilesError, match=r"cond_mobile\.smooth_layers\.0\.weight.*differ"):
        load_checkpoint(folder_with(tmp_path, warp_state, gen_state))
