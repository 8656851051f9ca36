"""Restricted unpickler and checkpoint loading; the definition's keys against the official file's."""

import os
import pickle

import numpy as np
import pytest

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.unpickle import load_pickle, loads
from vtonpipe.models.densepose.checkpoint import load_checkpoint
from vtonpipe.models.densepose.definition import DensePoseRCNN
from vtonpipe.models.densepose.tiny import tiny_state, write_tiny_weights

# Published facts of model_final_162be9.pkl (shared/reference/densepose.md).
OFFICIAL_KEYS, OFFICIAL_VALUES = 335, 63_927_330
OFFICIAL_SHAPES = {
    "backbone.bottom_up.stem.conv1.weight": (64, 3, 7, 7),
    "backbone.bottom_up.res2.0.shortcut.weight": (256, 64, 1, 1),
    "backbone.bottom_up.res3.0.conv1.weight": (128, 256, 1, 1),
    "backbone.bottom_up.res5.2.conv3.weight": (2048, 512, 1, 1),
    "backbone.fpn_lateral2.weight": (256, 256, 1, 1),
    "backbone.fpn_lateral5.weight": (256, 2048, 1, 1),
    "backbone.fpn_output3.weight": (256, 256, 3, 3),
    "proposal_generator.rpn_head.conv.weight": (256, 256, 3, 3),
    "proposal_generator.rpn_head.objectness_logits.weight": (3, 256, 1, 1),
    "proposal_generator.rpn_head.anchor_deltas.weight": (12, 256, 1, 1),
    "roi_heads.box_head.fc1.weight": (1024, 12544),
    "roi_heads.box_head.fc2.weight": (1024, 1024),
    "roi_heads.box_predictor.cls_score.weight": (2, 1024),
    "roi_heads.box_predictor.bbox_pred.weight": (4, 1024),
    "roi_heads.decoder.p4.2.weight": (256, 256, 3, 3),
    "roi_heads.decoder.p5.4.weight": (256, 256, 3, 3),
    "roi_heads.decoder.predictor.weight": (256, 256, 1, 1),
    "roi_heads.densepose_head.body_conv_fcn1.weight": (512, 256, 3, 3),
    "roi_heads.densepose_head.body_conv_fcn8.weight": (512, 512, 3, 3),
    "roi_heads.densepose_predictor.ann_index_lowres.weight": (512, 2, 4, 4),
    "roi_heads.densepose_predictor.index_uv_lowres.weight": (512, 25, 4, 4),
    "roi_heads.densepose_predictor.u_lowres.weight": (512, 25, 4, 4),
    "roi_heads.densepose_predictor.v_lowres.weight": (512, 25, 4, 4),
}


def test_full_size_definition_matches_official_key_facts():
    sd = DensePoseRCNN().state_dict()
    assert len(sd) == OFFICIAL_KEYS
    assert sum(v.numel() for v in sd.values()) == OFFICIAL_VALUES
    for name, shape in OFFICIAL_SHAPES.items():
        assert tuple(sd[name].shape) == shape, name
    assert sum(k.startswith("backbone.bottom_up.") for k in sd) == 53 + 53 * 4
    assert {k.rsplit(".", 1)[1] for k in sd if ".norm." in k} == {"weight", "bias", "running_mean", "running_var"}


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_callables():
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system|refused"):
        loads(pickle.dumps({"model": {"w": _Evil()}}))
    with pytest.raises(pickle.UnpicklingError):
        loads(pickle.dumps({"model": {"w": np.array([print], dtype=object)}}))


def test_unpickler_refused_file_is_a_model_files_error(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ModelFilesError, match="evil.pkl"):
        load_pickle(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_unpickler_reads_numpy_arrays_of_every_protocol(protocol):
    data = {"model": {"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, "__author__": "x", "n": [1, 2.0]}
    out = loads(pickle.dumps(data, protocol=protocol))
    np.testing.assert_array_equal(out["model"]["a"], data["model"]["a"])
    assert out["__author__"] == "x" and out["n"] == [1, 2.0]


def test_load_checkpoint_names_missing_and_unexpected_keys(tmp_path):
    state = tiny_state(0)
    state.pop("roi_heads.box_head.fc2.bias")
    state["roi_heads.extra.weight"] = np.zeros(3, np.float32)
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps({"model": state}))
    with pytest.raises(ModelFilesError, match=r"box_head\.fc2\.bias.*extra\.weight"):
        load_checkpoint(path)


def test_tiny_file_round_trips_through_the_loader(tmp_path):
    path = write_tiny_weights(tmp_path, seed=3)
    model = load_checkpoint(path)
    state = tiny_state(3)
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    for name in ("backbone.bottom_up.res3.1.conv2.weight", "roi_heads.decoder.p5.4.bias"):
        np.testing.assert_array_equal(loaded[name].numpy(), state[name])
