"""`models convert catvton` arguments, static IR shapes, INT8 PTQ and VAE weight compression (tiny)."""

import argparse
import json

import numpy as np
import openvino as ov
import pytest

from vtonpipe.datasets.calibration import pair_source
from vtonpipe.errors import ConfigError
from vtonpipe.models.catvton.export import add_convert_arguments, convert_from_args
from vtonpipe.models.catvton.runtime import CatVTONRuntime
from vtonpipe.models.catvton.tiny import write_tiny_weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_tiny_weights(tmp_path_factory.mktemp("catvton-weights"), seed=0)


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_convert_arguments(parser)
    return parser.parse_args(list(argv))


def op_types(xml):
    return {op.get_type_name() for op in ov.Core().read_model(xml).get_ops()}


def test_int8_unet_and_compressed_vae(weights, tmp_path):
    out = convert_from_args(parse(
        "--weights", str(weights), "--out", str(tmp_path / "ir"), "--height", "64", "--width", "48", "--batch", "2",
        "--int8", "--calib-size", "1", "--calib-steps", "3", "--vae-weights", "int8",
    ), calibration=pair_source())
    info = json.loads((out / "model.json").read_text())
    assert info["precision"] == "int8" and info["int8"]["calibration_samples"] == 3 and info["vae_weights"] == "int8"
    assert info["inputs"]["unet"]["sample"] == [4, 9, 16, 6] and info["inputs"]["vae_decoder"]["latent"] == [2, 4, 8, 6]
    assert "diffusion_pytorch_model.safetensors" in info["sources"] and info["variant"] == "mix"
    assert "FakeQuantize" in op_types(out / "unet.xml")
    assert "ScaledDotProductAttention" in op_types(out / "unet.xml")
    rt = CatVTONRuntime(out)
    assert [tuple(p.get_shape()) for p in rt.unet.inputs] == [(4, 9, 16, 6), (1,)]
    rng = np.random.default_rng(0)
    mask = np.zeros((64, 48), np.uint8)
    mask[16:48, 8:40] = 255
    person, garment = rng.integers(0, 256, (2, 64, 48, 3), dtype=np.uint8)
    results = rt.generate([person] * 3, [garment] * 3, [mask] * 3, seeds=[1, 2, 1], steps=2)
    # Batch of 2: pair 3 runs padded in a second chunk and still equals pair 1.
    assert np.array_equal(results[0], results[2]) and not np.array_equal(results[0], results[1])


def test_sizes_must_fit_the_unet(weights, tmp_path):
    with pytest.raises(ConfigError, match="multiples of 16"):
        convert_from_args(parse("--weights", str(weights), "--out", str(tmp_path / "ir"), "--height", "60", "--width", "48"))
