"""PF-AFN checkpoint loading: the official PFAFN/ layout and strict keys."""

import pytest
import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models import families
from vtonpipe.models.pfafn.checkpoint import load_checkpoint
from vtonpipe.models.pfafn.definition import AFWM, ResUnetGenerator

WARP, GEN = "PFAFN/warp_model_final.pth", "PFAFN/gen_model_final.pth"


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """The official file layout with torch's default initialisation (quick to write)."""
    root = tmp_path_factory.mktemp("pfafn-weights")
    (root / "PFAFN").mkdir()
    torch.manual_seed(4)
    torch.save(AFWM().state_dict(), root / WARP)
    torch.save(ResUnetGenerator().state_dict(), root / GEN)
    return root


def test_family_follows_the_protocol():
    assert families.protocol_problems("pfafn") == []


def test_official_layout_loads_from_either_folder(official):
    loaded = load_checkpoint(official)
    assert [p.name for p in loaded.sources] == ["warp_model_final.pth", "gen_model_final.pth"]
    assert "model.model.0.weight" in loaded.generator.state_dict()
    assert load_checkpoint(official / "PFAFN").sources == loaded.sources


def test_missing_file_names_the_expected_path(tmp_path):
    (tmp_path / "PFAFN").mkdir()
    with pytest.raises(ModelFilesError, match=r"PFAFN/warp_model_final\.pth"):
        load_checkpoint(tmp_path)


def test_wrong_keys_are_refused_by_name(tmp_path, official):
    (tmp_path / "PFAFN").mkdir()
    gen = torch.load(official / GEN, weights_only=True)
    torch.save(gen, tmp_path / GEN)
    warp = torch.load(official / WARP, weights_only=True)
    warp["aflow_net.extra.weight"] = warp.pop("cond_FPN.smooth.4.bias")
    torch.save(warp, tmp_path / WARP)
    with pytest.raises(ModelFilesError, match=r"missing keys: cond_FPN\.smooth\.4\.bias.*unexpected keys: aflow_net\.extra\.weight"):
        load_checkpoint(tmp_path)
