"""`vtonpipe models convert dmvton`: options, pruning bookkeeping, INT8 with a calibration source."""

import argparse

import pytest
import torch
from parser_free_pairs import pairs

from vtonpipe.errors import ConfigError
from vtonpipe.models.common.appearance_flow import offset_convs
from vtonpipe.models.common.random_weights import example_images, randomize_
from vtonpipe.models.dmvton.definition import MobileAFWM, MobileUNet
from vtonpipe.models.dmvton.export import add_convert_arguments, convert_from_args
from vtonpipe.models.dmvton.pruning import prune_warp, refine_channels, smoothing_channels
from vtonpipe.models.dmvton.runtime import DMVTONRuntime


def official_files(folder):
    """The official file layout with torch's default initialisation (quick to write)."""
    folder.mkdir()
    torch.manual_seed(0)
    torch.save(MobileAFWM().state_dict(), folder / "dmvton_pf_warp.pt")
    torch.save(MobileUNet().state_dict(), folder / "dmvton_pf_gen.pt")
    return folder


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_convert_arguments(parser)
    return parser.parse_args(list(argv))


def test_help_says_pruning_is_not_fine_tuned():
    parser = argparse.ArgumentParser()
    add_convert_arguments(parser)
    assert "no fine-tuning" in " ".join(parser.format_help().split())


def test_bad_options_fail_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="multiples of 32"):
        convert_from_args(parse("--weights", str(tmp_path), "--out", str(tmp_path / "ir"), "--height", "250"))
    weights = official_files(tmp_path / "w")
    with pytest.raises(ConfigError, match="--int8 needs calibration pairs"):
        convert_from_args(parse("--weights", str(weights), "--out", str(tmp_path / "ir"), "--int8"))
    with pytest.raises(ConfigError, match="--prune must be a ratio between 0 and 1"):
        prune_warp(MobileAFWM(), 1.0)


def test_pruning_drops_exactly_the_dead_channels():
    """With the weakest filters zeroed, pruning them must leave the warp's flow unchanged."""
    warp = randomize_(MobileAFWM(), example_images(3, 3, height=64, width=64), output_std=offset_convs())
    with torch.no_grad():
        for pyramid in (warp.image_mobile, warp.cond_mobile):
            pyramid.smooth_layers[0].weight[64:128] = 0
            pyramid.smooth_layers[0].bias[64:128] = 0
        warp.aflow_net.netRefine[4][0].weight[::2] = 0
        warp.aflow_net.netRefine[4][0].bias[::2] = 0
    state = warp.state_dict()
    assert smoothing_channels(state, 192).tolist() == [*range(64), *range(128, 256)]
    assert refine_channels(state, 64).tolist() == list(range(1, 128, 2))
    pruned, widths = prune_warp(warp, 0.25)  # drops the 64 dead smoothing and 32 dead refine channels
    assert widths["smooth_channels"] == [256, 192] and widths["netRefine.4.0"] == [128, 96]
    assert pruned.aflow_net.netRefine[3][0].in_channels == 2 * 192
    person, garment = torch.rand(1, 3, 64, 64) * 2 - 1, torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(pruned(person, garment)[1], warp(person, garment)[1], atol=1e-5, rtol=0)


def test_convert_with_pruning_and_int8(tmp_path):
    weights = official_files(tmp_path / "w")
    asked = []

    def calibration(n, height, width):
        asked.append((n, height, width))
        return pairs(n, height, width, seed=9)

    out = convert_from_args(parse("--weights", str(weights), "--out", str(tmp_path / "ir"), "--height", "64",
                                  "--width", "64", "--prune", "0.5", "--int8", "--calib-size", "2"), calibration)
    assert asked == [(2, 64, 64)]
    rt = DMVTONRuntime(out)
    assert rt.info.precision == "int8" and rt.info.params["int8"]["calibration_pairs"] == 2
    assert rt.info.params["pruning"] == {"ratio": 0.5, "fine_tuned": False, "smooth_channels": [256, 128],
                                         "netRefine.4.0": [128, 64], "correlation_divisor": 256}
    person, garment, mask = pairs(1, 64, 64, seed=10)[0]
    result = rt(person, garment, mask)
    assert result.shape == (64, 64, 3) and result.std() > 1
