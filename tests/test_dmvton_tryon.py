"""DM-VTON at the trained size on full-size random weights: IR vs torch definition, the official
pipeline vs the runtime, batching, resizing, and a runtime without torch."""

import numpy as np
import openvino as ov
import pytest
import torch
from parser_free_pairs import convert_only_modules_loaded_by_runtime, pairs, rel_l2
from parser_free_upstream import dmvton_tryon, official_tensors

from vtonpipe.models.common.appearance_flow import ParserFreeTryOn
from vtonpipe.models.common.parser_free import pair_inputs
from vtonpipe.models.common.tiny import TINY_WEIGHTS as WEIGHTS_DIR
from vtonpipe.models.dmvton.checkpoint import load_checkpoint
from vtonpipe.models.dmvton.export import export_ir
from vtonpipe.models.dmvton.runtime import DMVTONRuntime
from vtonpipe.models.dmvton.tiny import build_tiny_ir

H, W = 256, 192
# Upstream snapshot the parity test ran against (tests/upstream.py extracts it at test time).
DMVTON_COMMIT = "8dc704818576a531bdf27440e26672980530db8e"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("dmvton")
    single = build_tiny_ir(root / "b1", seed=0, height=H, width=W)
    loaded = load_checkpoint(single / WEIGHTS_DIR)
    triple = export_ir(loaded, root / "b3", height=H, width=W, batch=3, variant="tiny")
    return loaded, single, DMVTONRuntime(single), DMVTONRuntime(triple)


def test_model_json_describes_the_ir(built):
    rt = built[3]
    assert (rt.height, rt.width, rt.batch) == (H, W, 3)
    assert rt.info.inputs == {"tryon": {"person": [3, 3, H, W], "garment": [3, 3, H, W], "garment_mask": [3, 1, H, W]}}
    assert rt.info.params["rounding"] == "half_up" and rt.info.params["pruning"] is None
    assert rt.info.precision == "fp32" and rt.model_id.startswith("dmvton/tiny@fp32-")
    assert set(rt.info.sources) == {"dmvton_pf_warp.pt", "dmvton_pf_gen.pt"}


def test_ir_matches_the_torch_definition(built):
    loaded, single, _, _ = built
    inputs = [np.stack(x) for x in zip(*(pair_inputs(*pair, H, W) for pair in pairs(1, H, W, seed=1)))]
    with torch.no_grad():
        expected = ParserFreeTryOn(loaded.warp, loaded.generator)(*map(torch.from_numpy, inputs)).numpy()
    compiled = ov.Core().compile_model(single / "tryon.xml", "CPU")
    got = compiled(dict(zip(("person", "garment", "garment_mask"), inputs)))[0]
    assert rel_l2(got, expected) < 1e-4


def test_matches_the_official_pipeline(built, tmp_path):
    _, single, rt, _ = built
    person, garment, mask = pairs(1, H, W, seed=2)[0]
    expected, commit = dmvton_tryon(tmp_path, single / WEIGHTS_DIR, *official_tensors(person, garment, mask))
    assert commit == DMVTON_COMMIT
    got = rt(person, garment, mask)
    diff = np.abs(got.astype(int) - expected[0].astype(int))
    print(f"uint8 vs upstream {commit[:7]}: max diff {diff.max()}, {np.mean(diff > 0):.3%} of values differ")
    assert diff.max() <= 2, f"max {diff.max()}, {np.mean(diff > 0):.2%} of values differ"


def test_batch_of_three_matches_batch_of_one(built):
    _, _, one, three = built
    first, second = pairs(2, H, W, seed=3)
    # One call of three, padded: a pair's result depends neither on its slot nor on its companions.
    forward, backward = three.generate(*zip(first, second)), three.generate(*zip(second, first))
    np.testing.assert_array_equal(forward[0], backward[1])
    np.testing.assert_array_equal(forward[1], backward[0])
    # The batch-1 IR runs other kernels whose float sums differ in order: at most 1 level, rarely.
    for a, b in zip(one.generate(*zip(first, second)), forward):
        diff = np.abs(a.astype(int) - b.astype(int))
        assert diff.max() <= 1 and np.mean(diff > 0) < 0.002


def test_any_size_is_resized_to_the_model_and_back(built):
    rt = built[2]
    person = pairs(1, 300, 225, seed=4)[0][0]
    _, garment, mask = pairs(1, 160, 120, seed=5)[0]
    out = rt(person, garment, mask)
    assert out.shape == person.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match="does not match the garment"):
        rt(person, garment, mask[:100])


def test_runtime_needs_no_torch(built):
    assert convert_only_modules_loaded_by_runtime("dmvton", built[1]) == ""
