"""SCHP model family: official key layout, strict loading, geometry, torch vs OpenVINO parity."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.labels.parsing import ATR, LIP, palette
from vtonpipe.models.schp import transforms as T
from vtonpipe.models.schp.checkpoint import OFFICIAL_FILES, load_checkpoint, read_state_dict
from vtonpipe.models.schp.definition import SCHPConfig, SCHPNet, SCHPParser
from vtonpipe.models.schp.export import add_convert_arguments, convert_from_args
from vtonpipe.models.schp.runtime import SCHPRuntime
from vtonpipe.models.schp.tiny import TINY_INPUT_SIZE, write_tiny_weights

# torch.export inside ov.convert_model trips a torch-internal pytree deprecation.
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

# Keys and shapes of the official LIP checkpoint (after `module.`), read off upstream's AugmentCE2P
# module tree: the deep stem, the last block of the 23-block layer3, the PSP stages and bottleneck,
# the InPlaceABN positions inside decoder.conv3 / fushion (index 3, not CatVTON's renamed 4).
OFFICIAL_SHAPES = {
    "conv1.weight": (64, 3, 3, 3),
    "bn3.running_var": (128,),
    "layer1.0.downsample.1.weight": (256,),
    "layer3.22.conv2.weight": (256, 256, 3, 3),
    "layer4.0.downsample.0.weight": (2048, 1024, 1, 1),
    "context_encoding.stages.3.1.weight": (512, 2048, 1, 1),
    "context_encoding.stages.3.2.running_mean": (512,),
    "context_encoding.bottleneck.0.weight": (512, 4096, 3, 3),
    "edge.conv3.0.weight": (256, 1024, 1, 1),
    "edge.conv4.weight": (2, 256, 3, 3),
    "edge.conv5.bias": (2,),
    "decoder.conv2.1.bias": (48,),
    "decoder.conv3.0.weight": (256, 304, 1, 1),
    "decoder.conv3.3.running_var": (256,),
    "decoder.conv4.weight": (20, 256, 1, 1),
    "fushion.0.weight": (256, 1024, 1, 1),
    "fushion.1.bias": (256,),
    "fushion.3.weight": (20, 256, 1, 1),
}


def _person_like_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A BGR image with smooth gradients and a textured block, so label maps vary in space."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([(xx * 3) % 256, (yy * 2) % 256, ((xx + yy) * 5) % 256], axis=2).astype(np.uint8)
    img[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = rng.integers(
        0, 256, (3 * height // 4 - height // 4, 3 * width // 4 - width // 4, 3)
    )
    return img


@pytest.fixture(scope="module")
def tiny_lip(tiny_ir):
    root = ir = tiny_ir("schp", dataset="lip")
    return root / "tiny-weights" / OFFICIAL_FILES["lip"], ir


def test_full_size_definition_has_the_official_keys():
    with torch.device("meta"):
        state = SCHPNet(SCHPConfig(num_classes=20)).state_dict()
    assert len(state) == 603
    assert not [k for k in state if "num_batches_tracked" in k]
    for key, shape in OFFICIAL_SHAPES.items():
        assert tuple(state[key].shape) == shape, key
    with torch.device("meta"):
        atr = SCHPNet(SCHPConfig(num_classes=18)).state_dict()
    assert tuple(atr["fushion.3.weight"].shape) == (18, 256, 1, 1)


def test_tiny_file_uses_the_official_layout(tiny_lip):
    weights, _ = tiny_lip
    raw = torch.load(weights, weights_only=True)
    assert list(raw) == ["state_dict"]
    keys = list(raw["state_dict"])
    assert all(k.startswith("module.") for k in keys)
    # Same names as the full-size file (fewer layer blocks only).
    with torch.device("meta"):
        full = set(SCHPNet(SCHPConfig(num_classes=20)).state_dict())
    assert {k[len("module."):] for k in keys} <= full
    assert "module.decoder.conv3.3.running_var" in keys and "module.fushion.3.bias" in keys

    model, labels = load_checkpoint(weights)
    assert labels is LIP and model.cfg.layers == (1, 1, 2, 1) and model.cfg.width == 8
    loaded = model.state_dict()
    for key, value in raw["state_dict"].items():
        assert torch.equal(loaded[key[len("module."):]], value)


def test_missing_unexpected_and_misshapen_keys_are_named(tiny_lip, tmp_path):
    weights, _ = tiny_lip
    state = torch.load(weights, weights_only=True)["state_dict"]
    del state["module.fushion.3.bias"]
    state["module.fushion.4.weight"] = torch.zeros(20, 32, 1, 1)  # a BatchNorm-port name
    state["module.edge.conv5.weight"] = torch.zeros(3, 6, 1, 1)
    bad = tmp_path / OFFICIAL_FILES["lip"]
    torch.save({"state_dict": state}, bad)
    with pytest.raises(ModelFilesError) as err:
        load_checkpoint(bad)
    msg = str(err.value)
    assert "missing keys: fushion.3.bias" in msg
    assert "unexpected keys: fushion.4.weight" in msg
    assert "edge.conv5.weight (3, 6, 1, 1) != (2, 6, 1, 1)" in msg


def test_dataset_comes_from_the_file_name_or_the_flag(tmp_path):
    weights = write_tiny_weights(tmp_path, dataset="atr").rename(tmp_path / "schp-weights.pth")
    with pytest.raises(ModelFilesError, match="--dataset"):
        load_checkpoint(weights)
    _, labels = load_checkpoint(weights, dataset="atr")
    assert labels is ATR
    with pytest.raises(ModelFilesError, match="18 classes but lip has 20"):
        load_checkpoint(weights, dataset="lip")


def test_unsafe_or_broken_files_are_refused(tmp_path):
    broken = tmp_path / "lip.pth"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFilesError, match="not a weights-only"):
        read_state_dict(broken)
    with pytest.raises(ModelFilesError, match="does not exist"):
        read_state_dict(tmp_path / "absent-lip.pth")


def test_letterbox_puts_the_image_corners_on_the_input_edges():
    m = T.letterbox_matrix(300, 400, (473, 473))  # portrait: height fills the input
    corners = np.array([[0, 0, 1], [299, 399, 1]], dtype=np.float64) @ m.T
    scale = 472 / 399
    assert np.allclose(corners[:, 1], [0, 472])
    assert np.allclose(corners[:, 0], [236 - 149.5 * scale, 236 + 149.5 * scale])
    assert np.allclose(T.inverse_matrix(m) @ [*corners[1], 1], [299, 399])


@pytest.mark.parametrize("size", [(120, 90), (90, 150), (64, 64)])
def test_affine_and_inverse_map_a_labelled_image_onto_itself(size):
    height, width = size
    labels = np.zeros(size, dtype=np.uint8)
    rng = np.random.default_rng(1)
    for cls in range(1, 8):  # rectangles of classes 1-7 over a background of 0
        y, x = rng.integers(0, height - 20), rng.integers(0, width - 20)
        labels[y : y + rng.integers(8, 20), x : x + rng.integers(8, 20)] = cls
    onehot = np.eye(8, dtype=np.float32)[labels].transpose(2, 0, 1)
    m = T.letterbox_matrix(width, height, (473, 473))
    on_input = np.stack([T.warp_to_input(c, m, (473, 473)) for c in onehot])
    back = T.warp_logits_back(on_input, T.inverse_matrix(m), width, height)
    assert back.shape == (height, width, 8)
    assert np.array_equal(T.labels_from_logits(back), labels)


def test_voc_palette():
    assert palette(4) == [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]
    assert palette(20)[19 * 3 : 20 * 3] == [128, 192, 0]
    assert len(palette(18)) == 54


@pytest.mark.parametrize("shape", [(120, 90), (70, 110)])
def test_torch_and_openvino_labels_agree(tiny_lip, shape):
    weights, ir = tiny_lip
    model, _ = load_checkpoint(weights)
    runtime = SCHPRuntime(ir, "CPU", threads=1)
    bgr = _person_like_image(*shape)

    size = (TINY_INPUT_SIZE, TINY_INPUT_SIZE)
    m = T.letterbox_matrix(shape[1], shape[0], size)
    with torch.no_grad():
        logits = SCHPParser(model)(torch.from_numpy(T.normalize(T.warp_to_input(bgr, m, size)))).numpy()[0]
    expected = T.labels_from_logits(T.warp_logits_back(logits, T.inverse_matrix(m), shape[1], shape[0]))

    got = runtime(bgr)
    assert got.shape == shape and got.dtype == np.uint8
    assert len(np.unique(expected)) > 1  # a constant map would make agreement meaningless
    assert (got == expected).mean() >= 0.999
    assert np.abs(runtime.logits(bgr) - T.warp_logits_back(logits, T.inverse_matrix(m), *shape[::-1])).max() < 1e-3


def test_convert_cli_arguments_and_int8(tiny_lip, tmp_path):
    weights, ir = tiny_lip
    parser = argparse.ArgumentParser()
    add_convert_arguments(parser)
    defaults = parser.parse_args(["--weights", str(weights), "--out", "x"])
    assert defaults.dataset is None and defaults.input_size is None and not defaults.int8  # LIP's 473
    out_dir = str(tmp_path / "int8")
    args = parser.parse_args(["--weights", str(weights), "--out", out_dir, "--int8", "--input-size", "96"])
    out = convert_from_args(args)
    info = json.loads((out / "model.json").read_text())
    assert info["family"] == "schp" and info["dataset"] == "lip" and info["precision"] == "int8-weights"
    assert info["input_size"] == [96, 96] and info["inputs"] == {"schp": {"image": [1, 3, 96, 96]}}
    assert info["sources"] == {OFFICIAL_FILES["lip"]: info["sources"][OFFICIAL_FILES["lip"]]}
    runtime = SCHPRuntime(out, "CPU", threads=1)
    assert runtime(_person_like_image(60, 40)).shape == (60, 40)
    fp32 = json.loads((ir / "model.json").read_text())
    assert fp32["precision"] == "fp32" and fp32["variant"] == "tiny-lip"
