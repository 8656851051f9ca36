"""Boxes in numpy: FPN anchors, R-CNN box decoding, clipping, NMS and pooler level assignment.

Boxes are float (N, 4) arrays of x0, y0, x1, y1 in pixels of the resized image, as in detectron2
(no "+1" in widths or areas).
"""

from __future__ import annotations

import math

import numpy as np

STRIDES = (4, 8, 16, 32, 64)  # p2..p6
ANCHOR_SIZES = (32, 64, 128, 256, 512)  # one size per level
ASPECT_RATIOS = (0.5, 1.0, 2.0)
RPN_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
SCALE_CLAMP = math.log(1000.0 / 16)


def cell_anchors(size: float, ratios=ASPECT_RATIOS) -> np.ndarray:
    """(A, 4) anchors centred on the origin, one per aspect ratio h/w, each of area size**2."""
    out = []
    for ratio in ratios:
        w = math.sqrt(size * size / ratio)
        h = ratio * w
        out.append([-w / 2.0, -h / 2.0, w / 2.0, h / 2.0])
    return np.asarray(out, dtype=np.float32)


def grid_anchors(height: int, width: int, stride: int, size: float) -> np.ndarray:
    """(H*W*A, 4) anchors of one level in (y, x, anchor) order, matching the RPN head's flattening."""
    xs = np.arange(width, dtype=np.float32) * stride
    ys = np.arange(height, dtype=np.float32) * stride
    sy, sx = np.meshgrid(ys, xs, indexing="ij")
    shifts = np.stack([sx, sy, sx, sy], axis=-1).reshape(-1, 1, 4)
    return (shifts + cell_anchors(size)[None]).reshape(-1, 4)


def decode(deltas: np.ndarray, boxes: np.ndarray, weights=BOX_WEIGHTS) -> np.ndarray:
    """Apply (dx, dy, dw, dh) deltas to boxes (float32, dw/dh clamped at log(1000/16))."""
    deltas = deltas.astype(np.float32)
    boxes = boxes.astype(np.float32)
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    ctr_x = boxes[:, 0] + 0.5 * widths
    ctr_y = boxes[:, 1] + 0.5 * heights
    wx, wy, ww, wh = weights
    dx, dy = deltas[:, 0] / wx, deltas[:, 1] / wy
    dw = np.minimum(deltas[:, 2] / ww, SCALE_CLAMP)
    dh = np.minimum(deltas[:, 3] / wh, SCALE_CLAMP)
    cx = dx * widths + ctr_x
    cy = dy * heights + ctr_y
    pw = np.exp(dw) * widths
    ph = np.exp(dh) * heights
    return np.stack([cx - 0.5 * pw, cy - 0.5 * ph, cx + 0.5 * pw, cy + 0.5 * ph], axis=1)


def clip(boxes: np.ndarray, height: float, width: float) -> np.ndarray:
    """Clamp x to [0, width] and y to [0, height]."""
    out = boxes.copy()
    out[:, 0::2] = np.clip(out[:, 0::2], 0, width)
    out[:, 1::2] = np.clip(out[:, 1::2], 0, height)
    return out


def nonempty(boxes: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Mask of boxes whose width and height both exceed `threshold`."""
    return ((boxes[:, 2] - boxes[:, 0]) > threshold) & ((boxes[:, 3] - boxes[:, 1]) > threshold)


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS: indices kept, by decreasing score; a box goes when IoU > threshold with a kept one."""
    order = np.argsort(-scores, kind="stable")
    if order.size == 0:
        return order
    iou = pairwise_iou(boxes[order], boxes[order])
    suppressed = np.zeros(order.size, dtype=bool)
    keep = []
    for i in range(order.size):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > threshold
    return order[np.asarray(keep, dtype=np.int64)]


def batched_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray, threshold: float) -> np.ndarray:
    """NMS within each group (never across), merged by decreasing score."""
    keep = [np.flatnonzero(groups == g)[nms(boxes[groups == g], scores[groups == g], threshold)]
            for g in np.unique(groups)]
    if not keep:
        return np.zeros(0, dtype=np.int64)
    keep = np.concatenate(keep)
    return keep[np.argsort(-scores[keep], kind="stable")]


def pooler_levels(boxes: np.ndarray, min_level: int = 2, max_level: int = 5,
                  canonical_size: float = 224.0, canonical_level: int = 4) -> np.ndarray:
    """FPN level index (0 = min_level) each box is pooled from: floor(4 + log2(sqrt(area)/224))."""
    sizes = np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    levels = np.floor(canonical_level + np.log2(sizes / canonical_size + 1e-8))
    return (np.clip(levels, min_level, max_level) - min_level).astype(np.int64)


def resized_shape(height: int, width: int, short_edge: int, max_size: int) -> tuple[int, int]:
    """(h, w) after detectron2's ResizeShortestEdge, rounded with int(x + 0.5)."""
    scale = short_edge * 1.0 / min(height, width)
    newh, neww = (short_edge * 1.0, scale * width) if height < width else (scale * height, short_edge * 1.0)
    if max(newh, neww) > max_size:
        shrink = max_size * 1.0 / max(newh, neww)
        newh, neww = newh * shrink, neww * shrink
    return int(newh + 0.5), int(neww + 0.5)
