"""PF-AFN on full-size random weights at 128x96 (a quarter of the trained area, to keep the eager
references quick): IR vs torch definition, the official test script vs the runtime, no torch."""

import numpy as np
import openvino as ov
import pytest
import torch
from parser_free_pairs import convert_only_modules_loaded_by_runtime, pairs, rel_l2
from parser_free_upstream import official_tensors, pfafn_tryon

from vtonpipe.models.common.appearance_flow import ParserFreeTryOn
from vtonpipe.models.common.parser_free import pair_inputs
from vtonpipe.models.common.tiny import TINY_WEIGHTS as WEIGHTS_DIR
from vtonpipe.models.pfafn.checkpoint import load_checkpoint
from vtonpipe.models.pfafn.runtime import PFAFNRuntime
from vtonpipe.models.pfafn.tiny import build_tiny_ir

H, W = 128, 96
# Upstream snapshot the parity test ran against (tests/upstream.py extracts it at test time).
PFAFN_COMMIT = "e2bb71e2f0b472479f386fa1b9c146ec3340f2e8"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    ir = build_tiny_ir(tmp_path_factory.mktemp("pfafn"), seed=0, height=H, width=W)
    return load_checkpoint(ir / WEIGHTS_DIR), ir, PFAFNRuntime(ir)


def test_model_json_describes_the_ir(built):
    rt = built[2]
    assert (rt.height, rt.width, rt.batch) == (H, W, 1)
    assert rt.info.params["rounding"] == "truncate" and rt.info.params["align_corners"] is True
    assert rt.info.precision == "fp32" and rt.model_id.startswith("pfafn/tiny@fp32-")


def test_ir_matches_the_torch_definition(built):
    loaded, ir, _ = built
    inputs = [x[None] for x in pair_inputs(*pairs(1, H, W, seed=1)[0], H, W)]
    with torch.no_grad():
        expected = ParserFreeTryOn(loaded.warp, loaded.generator)(*map(torch.from_numpy, inputs)).numpy()
    compiled = ov.Core().compile_model(ir / "tryon.xml", "CPU")
    got = compiled(dict(zip(("person", "garment", "garment_mask"), inputs)))[0]
    assert rel_l2(got, expected) < 1e-4


def test_matches_the_official_test_script(built, tmp_path, monkeypatch):
    _, ir, rt = built
    person, garment, mask = pairs(1, H, W, seed=2)[0]
    expected, commit = pfafn_tryon(tmp_path, ir / WEIGHTS_DIR, *official_tensors(person, garment, mask), monkeypatch)
    assert commit == PFAFN_COMMIT
    got = rt(person, garment, mask)
    diff = np.abs(got.astype(int) - expected.astype(int))
    print(f"uint8 vs upstream {commit[:7]}: max diff {diff.max()}, {np.mean(diff > 0):.3%} of values differ")
    assert diff.max() <= 2, f"max {diff.max()}, {np.mean(diff > 0):.2%} of values differ"


def test_runtime_needs_no_torch(built):
    assert convert_only_modules_loaded_by_runtime("pfafn", built[1]) == ""
