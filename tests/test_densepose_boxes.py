"""numpy box maths of the DensePose runtime against slow, literal reference implementations."""

import math

import numpy as np
import pytest

from vtonpipe.models.densepose import boxes as B
from vtonpipe.models.densepose.pooling import multilevel_roi_align, roi_align


def slow_nms(boxes, scores, thr):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        ok = True
        for j in keep:
            x0, y0 = max(boxes[i][0], boxes[j][0]), max(boxes[i][1], boxes[j][1])
            x1, y1 = min(boxes[i][2], boxes[j][2]), min(boxes[i][3], boxes[j][3])
            inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
            area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
            if inter / (area(boxes[i]) + area(boxes[j]) - inter) > thr:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


def random_boxes(rng, n, size=100.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(1, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms_matches_slow_reference(thr):
    rng = np.random.default_rng(1)
    boxes = random_boxes(rng, 200)
    scores = rng.permutation(200).astype(np.float32)  # distinct scores: one valid order
    assert B.nms(boxes, scores, thr).tolist() == slow_nms(boxes.tolist(), scores.tolist(), thr)


def test_batched_nms_never_suppresses_across_groups():
    rng = np.random.default_rng(2)
    boxes = random_boxes(rng, 120)
    scores = rng.permutation(120).astype(np.float32)
    groups = rng.integers(0, 3, 120)
    expected = []
    for g in range(3):
        idx = np.flatnonzero(groups == g)
        expected += [idx[k] for k in slow_nms(boxes[idx].tolist(), scores[idx].tolist(), 0.5)]
    expected.sort(key=lambda i: -scores[i])
    assert B.batched_nms(boxes, scores, groups, 0.5).tolist() == expected
    same = np.repeat(boxes[:1], 3, axis=0)
    assert len(B.batched_nms(same, np.array([3.0, 2.0, 1.0]), np.array([0, 1, 2]), 0.5)) == 3


def test_decode_matches_slow_reference():
    rng = np.random.default_rng(3)
    boxes = random_boxes(rng, 50)
    deltas = rng.normal(0, 2, (50, 4)).astype(np.float32)
    deltas[0, 2:] = 50.0  # exercises the log(1000/16) clamp
    got = B.decode(deltas, boxes, B.BOX_WEIGHTS)
    for b, d, g in zip(boxes.tolist(), deltas.tolist(), got):
        w, h = b[2] - b[0], b[3] - b[1]
        cx, cy = b[0] + w / 2, b[1] + h / 2
        dw, dh = min(d[2] / 5, math.log(1000 / 16)), min(d[3] / 5, math.log(1000 / 16))
        pcx, pcy = d[0] / 10 * w + cx, d[1] / 10 * h + cy
        pw, ph = math.exp(dw) * w, math.exp(dh) * h
        np.testing.assert_allclose(g, [pcx - pw / 2, pcy - ph / 2, pcx + pw / 2, pcy + ph / 2], rtol=1e-5, atol=1e-3)


def test_grid_anchors_order_and_shapes():
    anchors = B.grid_anchors(3, 5, 16, 128)
    assert anchors.shape == (3 * 5 * 3, 4)
    for y in range(3):
        for x in range(5):
            for a, ratio in enumerate(B.ASPECT_RATIOS):
                w = math.sqrt(128 * 128 / ratio)
                h = ratio * w
                expect = [x * 16 - w / 2, y * 16 - h / 2, x * 16 + w / 2, y * 16 + h / 2]
                np.testing.assert_allclose(anchors[(y * 5 + x) * 3 + a], expect, rtol=1e-6)


def test_pooler_levels_and_resize_rule():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 224, 224], [0, 0, 447, 447], [0, 0, 448, 448], [0, 0, 5000, 5000]],
                     dtype=np.float32)
    assert B.pooler_levels(boxes).tolist() == [0, 2, 2, 3, 3]
    assert B.resized_shape(1024, 768, 800, 1333) == (1067, 800)
    assert B.resized_shape(100, 1000, 800, 1333) == (133, 1333)
    assert B.resized_shape(480, 640, 800, 1333) == (800, 1067)


def slow_roi_align(feat, box, out, scale, ratio):
    """torchvision roi_align(aligned=False) written out sample by sample."""
    c, height, width = feat.shape
    x0, y0, x1, y1 = (v * scale for v in box)
    rw, rh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    bw, bh = rw / out, rh / out
    res = np.zeros((c, out, out))
    for ph in range(out):
        for pw in range(out):
            acc = np.zeros(c)
            for iy in range(ratio):
                y = y0 + ph * bh + (iy + 0.5) * bh / ratio
                for ix in range(ratio):
                    x = x0 + pw * bw + (ix + 0.5) * bw / ratio
                    if y < -1.0 or y > height or x < -1.0 or x > width:
                        continue
                    y, x = max(y, 0.0), max(x, 0.0)
                    yl, xl = int(y), int(x)
                    if yl >= height - 1:
                        yh = yl = height - 1
                        y = float(yl)
                    else:
                        yh = yl + 1
                    if xl >= width - 1:
                        xh = xl = width - 1
                        x = float(xl)
                    else:
                        xh = xl + 1
                    ly, lx = y - yl, x - xl
                    acc += ((1 - ly) * (1 - lx) * feat[:, yl, xl] + (1 - ly) * lx * feat[:, yl, xh]
                            + ly * (1 - lx) * feat[:, yh, xl] + ly * lx * feat[:, yh, xh])
            res[:, ph, pw] = acc / (ratio * ratio)
    return res


def test_roi_align_matches_slow_reference():
    rng = np.random.default_rng(4)
    feat = rng.normal(size=(3, 12, 9)).astype(np.float32)
    boxes = np.array([[4, 4, 30, 40], [-10, -8, 12, 6], [30, 40, 60, 70], [10, 10, 10.5, 10.2], [0, 0, 36, 48]],
                     dtype=np.float32)
    got = roi_align(feat, boxes, 4, 0.25, 2)
    for k, box in enumerate(boxes):
        np.testing.assert_allclose(got[k], slow_roi_align(feat, box, 4, 0.25, 2), atol=1e-5)


def test_multilevel_roi_align_uses_each_box_level():
    rng = np.random.default_rng(5)
    feats = [rng.normal(size=(2, 64 // s, 64 // s)).astype(np.float32) for s in (4, 8, 16, 32)]
    boxes = random_boxes(rng, 6, 64)
    levels = np.array([0, 1, 2, 3, 0, 2])
    got = multilevel_roi_align(feats, boxes, levels, (4, 8, 16, 32), 3)
    for k in range(6):
        s = (4, 8, 16, 32)[levels[k]]
        np.testing.assert_allclose(got[k], roi_align(feats[levels[k]], boxes[k:k + 1], 3, 1 / s)[0])
