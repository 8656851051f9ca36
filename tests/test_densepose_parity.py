"""torch definition vs OpenVINO runtime on the tiny preset, stage by stage."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vtonpipe.models.densepose.checkpoint import load_checkpoint
from vtonpipe.models.densepose.definition import BackboneGraph, BoxGraph, DecoderGraph, DensePoseGraph
from vtonpipe.models.densepose.export import BACKBONE_OUTPUTS
from vtonpipe.models.densepose.pooling import roi_align
from vtonpipe.models.densepose.runtime import DensePoseRuntime, _resize_chw, paste_labels
from vtonpipe.models.densepose.tiny import TINY_FILE


@pytest.fixture(scope="module")
def tiny(tiny_ir):
    root = ir = tiny_ir("densepose")
    return load_checkpoint(root / "tiny-weights" / TINY_FILE), DensePoseRuntime(ir, threads=1)


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(7)
    img = np.full((200, 150, 3), 200, np.uint8)
    img[30:190, 50:100] = rng.integers(0, 120, (160, 50, 3))
    return img


def close(a, b, rtol=1e-4):
    """max abs difference relative to the reference's range."""
    scale = max(float(np.abs(b).max()), 1e-6)
    assert float(np.abs(a - b).max()) <= rtol * scale, float(np.abs(a - b).max()) / scale


@pytest.mark.parametrize("pad_mode, padded", [("exact", (128, 96)), ("canvas", (128, 128))])
def test_backbone_features_match(tiny, image, pad_mode, padded):
    model, rt = tiny
    rt = DensePoseRuntime(rt.ir_dir, threads=1, pad_mode=pad_mode)
    canvas, size = rt.preprocess(image)
    # 200x150 -> shortest edge 96 -> 128x96; "exact" pads to /32 like detectron2, "canvas" to the IR's
    assert size == (128, 96) and canvas.shape == (1, 3, *padded)
    assert np.all(canvas[0, :, :, 96:] == 0) and canvas[0, :, :, :96].any()
    ov_out = rt.backbone(canvas)
    with torch.no_grad():
        pt_out = BackboneGraph(model)(torch.from_numpy(canvas))
    for name, ref in zip(BACKBONE_OUTPUTS, pt_out):
        assert ov_out[name].shape == tuple(ref.shape), name
        close(ov_out[name], ref.numpy())


def test_box_scores_match(tiny, image):
    model, rt = tiny
    canvas, size = rt.preprocess(image)
    feats = rt.backbone(canvas)
    proposals = rt.proposals(feats, size)
    assert 100 < len(proposals) <= 1000  # several static box-head chunks, the last one padded
    assert np.all(proposals[:, [0, 2]] <= size[1]) and np.all(proposals[:, [1, 3]] <= size[0])
    pooled = rt.pool_boxes(feats, proposals)
    logits, deltas = rt.box_head(pooled)
    with torch.no_grad():
        ref_logits, ref_deltas = BoxGraph(model)(torch.from_numpy(pooled))
    close(logits, ref_logits.numpy())
    close(deltas, ref_deltas.numpy())
    dets = rt.detect(feats, size)
    assert len(dets.scores) >= 1 and np.all(dets.scores > 0.8) and np.all(np.diff(dets.scores) <= 0)


def test_part_maps_match(tiny, image):
    model, rt = tiny
    canvas, size = rt.preprocess(image)
    feats = rt.backbone(canvas)
    box = rt.detect(feats, size).boxes[0]
    ov_maps = rt.densepose_maps(feats, box)
    with torch.no_grad():
        pt_feats = BackboneGraph(model)(torch.from_numpy(canvas))
        dec = DecoderGraph(model)(*pt_feats[:4]).numpy()
        pooled = roi_align(dec[0], box[None], 28, 0.25)
        pt_maps = DensePoseGraph(model)(torch.from_numpy(pooled))
    for name, ref in zip(("coarse_segm", "fine_segm", "u", "v"), pt_maps):
        assert ov_maps[name].shape == tuple(ref.shape) and ref.shape[-1] == 112
        close(ov_maps[name], ref.numpy(), rtol=1e-3)
    image_box = np.clip(box * np.array([150 / 96, 200 / 128] * 2, dtype=np.float32), 0, [150, 200, 150, 200])
    ov_parts = paste_labels(ov_maps["coarse_segm"][0], ov_maps["fine_segm"][0], image_box, (200, 150))
    pt_parts = paste_labels(pt_maps[0][0].numpy(), pt_maps[1][0].numpy(), image_box, (200, 150))
    assert ov_parts.max() <= 24 and ov_parts.any()
    assert np.mean(ov_parts == pt_parts) > 0.995
    result = rt(image)
    np.testing.assert_array_equal(result.parts, ov_parts)
    np.testing.assert_allclose(result.box, image_box, rtol=1e-6)


@pytest.mark.parametrize("size", [(5, 7), (112, 112), (150, 61), (300, 240)])
def test_resampling_matches_torch_bilinear(size):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(25, 112, 112)).astype(np.float32)
    ref = F.interpolate(torch.from_numpy(x)[None], size, mode="bilinear", align_corners=False)[0].numpy()
    np.testing.assert_allclose(_resize_chw(x, *size).transpose(2, 0, 1), ref, atol=1e-4)


def test_paste_truncates_box_like_detectron2():
    coarse = np.zeros((2, 112, 112), np.float32)
    coarse[1] = 1.0  # all foreground
    fine = np.zeros((25, 112, 112), np.float32)
    fine[7] = 1.0
    parts = paste_labels(coarse, fine, np.array([10.7, 5.2, 30.5, 25.9]), (40, 50))
    ys, xs = np.nonzero(parts)
    # x=int(10.7)=10, w=int(19.8)=19; y=int(5.2)=5, h=int(20.7)=20
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (10, 28, 5, 24)
    assert set(np.unique(parts)) == {0, 7}
