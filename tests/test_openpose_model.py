"""OpenPose family: official layout and network structure (against pytorch-openpose's model),
strict loading, torch vs IR, the whole estimator against the upstream Body on the same weights
and images, the tiny preset, the family protocol and a torch-free runtime."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from openpose_upstream import official_body, upstream_module

from vtonpipe.datasets.openpose import read_pose, render_openpose, write_openpose_json
from vtonpipe.datasets.synthetic import draw_person
from vtonpipe.errors import ModelFilesError
from vtonpipe.masks.vitonhd import hrviton_agnostic
from vtonpipe.models.families import protocol_problems
from vtonpipe.models.openpose import IR_NAME, WEIGHTS_FILE, export
from vtonpipe.models.openpose.checkpoint import load_checkpoint
from vtonpipe.models.openpose.definition import BodyPoseConfig, BodyPoseNet
from vtonpipe.models.openpose.export import add_convert_arguments, convert_from_args, export_ir
from vtonpipe.models.openpose.resize import network_input
from vtonpipe.models.openpose.runtime import OpenPoseRuntime
from vtonpipe.models.openpose.tiny import write_tiny_weights

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")


def _person_bgr(height: int, width: int, index: int) -> np.ndarray:
    person = draw_person(np.random.default_rng([7, index]), height, width)
    return np.ascontiguousarray(person.image[:, :, ::-1])


@pytest.fixture(scope="module")
def official_ir(tmp_path_factory):
    """Official-shape weights (width 64) with the pose template, and their IR folder."""
    out = tmp_path_factory.mktemp("openpose-full")
    weights = write_tiny_weights(out / "weights", seed=3, width=64)
    model = load_checkpoint(weights)
    export_ir(model, out / "ir", sources=[weights])
    return weights, model, out / "ir"


@pytest.fixture(scope="module")
def openpose_tiny(tiny_ir):
    return tiny_ir("openpose")


def test_protocol():
    assert protocol_problems("openpose") == []


def test_network_matches_upstream_model(tmp_path):
    """Same modules in the same order (names, kinds, weight shapes, ReLU positions) as upstream's
    bodypose_model; the outputs are compared through the whole estimator below."""
    with torch.device("meta"):
        ours = BodyPoseNet()
    assert sum(p.numel() for p in ours.parameters()) == 52_311_446
    assert len(ours.state_dict()) == 184
    with upstream_module("Hzzone/pytorch-openpose", "src", ["src/__init__.py", "src/model.py"], "model",
                         tmp_path) as (model, _), torch.device("meta"):
        theirs = model.bodypose_model()
    describe = lambda m: [(n, type(x).__name__, tuple(getattr(x, "weight", torch.empty(0)).shape))  # noqa: E731
                          for n, x in m.named_modules() if n]
    assert describe(ours) == describe(theirs)
    assert "model6_2.relu_Mconv7_stage6_L2" in dict(ours.named_modules())
    assert "model6_1.relu_Mconv7_stage6_L1" not in dict(ours.named_modules())


def test_checkpoint_layout_and_strict_loading(tmp_path):
    path = write_tiny_weights(tmp_path, width=16, template=False)
    assert path.name == WEIGHTS_FILE
    state = torch.load(path, weights_only=True)
    assert "conv1_1.weight" in state and "Mconv7_stage6_L2.bias" in state and len(state) == 184
    model = load_checkpoint(path)
    assert model.cfg == BodyPoseConfig(width=16)
    assert torch.equal(model.model6_2.Mconv7_stage6_L2.weight, state["Mconv7_stage6_L2.weight"])
    # Extra entries are ignored (as upstream's transfer does); a missing or mis-shaped one is named.
    torch.save({**state, "unused.weight": torch.zeros(1)}, tmp_path / "extra.pth")
    load_checkpoint(tmp_path / "extra.pth")
    torch.save({k: v for k, v in state.items() if k != "Mconv3_stage4_L1.bias"}, tmp_path / "missing.pth")
    with pytest.raises(ModelFilesError, match="Mconv3_stage4_L1.bias"):
        load_checkpoint(tmp_path / "missing.pth")
    torch.save({**state, "conv2_1.bias": torch.zeros(5)}, tmp_path / "shape.pth")
    with pytest.raises(ModelFilesError, match="conv2_1.bias"):
        load_checkpoint(tmp_path / "shape.pth")


def _relative_l2(runtime: OpenPoseRuntime, model: BodyPoseNet, width: int) -> float:
    x = np.random.default_rng(width).uniform(-0.5, 0.5, (1, 3, 184, width)).astype(np.float32)
    heatmaps, pafs = runtime.network(x)
    with torch.no_grad():
        ref_pafs, ref_heatmaps = model(torch.from_numpy(x))
    return max(np.linalg.norm(got - ref[0].numpy()) / np.linalg.norm(ref[0].numpy())
               for got, ref in ((heatmaps, ref_heatmaps), (pafs, ref_pafs)))


def test_ir_matches_torch(official_ir, openpose_tiny):
    weights, model, ir_dir = official_ir
    info = json.loads((ir_dir / "model.json").read_text())
    assert info["family"] == "openpose" and info["inputs"] == {IR_NAME: {"image": [1, 3, 184, 144]}}
    assert WEIGHTS_FILE in info["sources"]
    assert _relative_l2(OpenPoseRuntime(ir_dir, threads=2), model, 144) < 1e-4
    # The tiny preset, at its static shape and reshaped to other widths.
    tiny = OpenPoseRuntime(openpose_tiny, threads=2, compiled_sizes=2)
    tiny_model = load_checkpoint(openpose_tiny / "tiny-weights" / WEIGHTS_FILE)
    for width in (144, 200, 96):
        assert _relative_l2(tiny, tiny_model, width) < 1e-4
    assert list(tiny._requests) == [(184, 200), (184, 96)]  # the compile cache keeps the last two


@pytest.mark.parametrize("variant,size", [("controlnet11", (1024, 768)), ("controlnet10", (512, 384))])
def test_estimator_matches_upstream_body(official_ir, variant, size, tmp_path):
    weights, _, ir_dir = official_ir
    runtime = OpenPoseRuntime(ir_dir, threads=2, variant=variant)
    with official_body(variant, tmp_path) as (body_cls, _):
        body = body_cls(str(weights))
        bgr = _person_bgr(*size, 0)
        ref_candidate, ref_subset = body(bgr)
    candidate, subset = runtime.candidates(bgr)
    assert len(candidate) == len(ref_candidate) and len(subset) == len(ref_subset) == 1
    assert np.abs(candidate[:, :2] - ref_candidate[:, :2]).max() <= 1
    assert np.array_equal(subset[:, :18], ref_subset[:, :18])
    person = runtime(bgr)[0]
    ref_ids = ref_subset[0, :18].astype(int)
    ref_xy = np.where(ref_ids[:, None] >= 0, ref_candidate[ref_ids, :2], 0)
    assert np.abs(person.xy - ref_xy).max() <= 1


def test_tiny_preset_finds_the_synthetic_person(openpose_tiny):
    runtime = OpenPoseRuntime(openpose_tiny, threads=2)
    for size in ((256, 192), (1024, 768)):
        people = runtime(_person_bgr(*size, 0))
        assert len(people) == 1 and people[0].found.all()
        xy = people[0].xy / size[0]
        assert xy[1, 1] < xy[8, 1] < xy[9, 1] < xy[10, 1]  # neck above hip, knee, ankle
        assert xy[2, 0] < xy[1, 0] < xy[5, 0]  # right shoulder on the image's left
    assert runtime(np.full((256, 192, 3), 235, np.uint8))  # the template ignores content


def test_pose_to_vitonhd_files(openpose_tiny, tmp_path):
    """Tiny-preset keypoints -> BODY_25 JSON -> the loaders' reading -> HR-VITON's agnostic."""
    person = draw_person(np.random.default_rng([7, 1]), 512, 384)
    found = OpenPoseRuntime(openpose_tiny, threads=2)(np.ascontiguousarray(person.image[:, :, ::-1]))
    path = write_openpose_json(tmp_path / "00001_00_keypoints.json", [p.keypoints() for p in found])
    out = hrviton_agnostic(person.image, person.cihp, read_pose(path))
    assert 0.05 < (out.mask > 0).mean() < 0.5
    assert render_openpose([found[0].keypoints()], 512, 384).any()


def test_convert_command(tmp_path, monkeypatch):
    parser = argparse.ArgumentParser()
    add_convert_arguments(parser)
    args = parser.parse_args(["--weights", "body_pose_model.pth", "--out", str(tmp_path)])
    assert args.width == 144
    calls = []
    monkeypatch.setattr(export, "convert", lambda *a, **k: calls.append((a, k)) or tmp_path)
    assert convert_from_args(args) == tmp_path
    assert calls == [(("body_pose_model.pth", str(tmp_path)), {"width": 144})]


_NO_TORCH = """
import sys
import numpy as np
from vtonpipe.models.openpose.runtime import OpenPoseRuntime
import vtonpipe.datasets.openpose, vtonpipe.masks.vitonhd, vtonpipe.masks.ootd
people = OpenPoseRuntime(sys.argv[1], threads=1)(np.full((256, 192, 3), 200, np.uint8))
print(len(people), ",".join(m for m in ("torch", "torchvision", "safetensors") if m in sys.modules))
"""


def test_runtime_imports_no_torch(openpose_tiny):
    out = subprocess.run([sys.executable, "-c", _NO_TORCH, str(openpose_tiny)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1"], out.stdout
    assert network_input(np.zeros((8, 8, 3), np.uint8), "controlnet11")[1].padded == (184, 184)
