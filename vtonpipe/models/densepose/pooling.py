"""ROIAlign in numpy with the semantics of torchvision's ``roi_align(aligned=False)``.

Bilinear sampling is separable in y and x, so each ROI's pooled features are two small matrix
products over the crop of the feature map it touches: exact, and fast enough for 1000 boxes.
"""

from __future__ import annotations

import numpy as np


def _axis_weights(start: np.ndarray, length: np.ndarray, size: int, bins: int, grid: int):
    """Sample weights along one axis: (N, bins, grid, 2) indices and weights (0 outside the map)."""
    bin_len = length / bins
    offsets = np.arange(bins)[:, None] + (np.arange(grid)[None, :] + 0.5) / grid
    pos = start[:, None, None] + offsets[None] * bin_len[:, None, None]
    outside = (pos < -1.0) | (pos > size)
    pos = np.maximum(pos, 0.0)
    low = np.floor(pos).astype(np.int64)
    at_edge = low >= size - 1
    low = np.where(at_edge, size - 1, low)
    high = np.where(at_edge, size - 1, low + 1)
    pos = np.where(at_edge, low.astype(pos.dtype), pos)
    frac = pos - low
    w = np.stack([1.0 - frac, frac], axis=-1) * ~outside[..., None]
    return np.stack([low, high], axis=-1), w


def roi_align(features: np.ndarray, boxes: np.ndarray, output_size: int, spatial_scale: float,
              sampling_ratio: int = 2) -> np.ndarray:
    """Pool (N, C, S, S) from one (C, H, W) map; boxes (N, 4) in image pixels."""
    channels, height, width = features.shape
    n = len(boxes)
    out = np.zeros((n, channels, output_size, output_size), dtype=np.float32)
    if n == 0:
        return out
    b = boxes.astype(np.float64) * spatial_scale
    roi_w = np.maximum(b[:, 2] - b[:, 0], 1.0)
    roi_h = np.maximum(b[:, 3] - b[:, 1], 1.0)
    yi, yw = _axis_weights(b[:, 1], roi_h, height, output_size, sampling_ratio)
    xi, xw = _axis_weights(b[:, 0], roi_w, width, output_size, sampling_ratio)
    norm = 1.0 / (sampling_ratio * sampling_ratio)
    for k in range(n):
        y0, y1 = yi[k].min(), yi[k].max() + 1
        x0, x1 = xi[k].min(), xi[k].max() + 1
        wy = np.zeros((output_size, y1 - y0))
        wx = np.zeros((output_size, x1 - x0))
        rows = np.broadcast_to(np.arange(output_size)[:, None, None], yi[k].shape)
        np.add.at(wy, (rows, yi[k] - y0), yw[k])
        np.add.at(wx, (rows, xi[k] - x0), xw[k])
        crop = features[:, y0:y1, x0:x1]
        # (P, h) x (C, h, w) x (Q, w) -> (C, P, Q)
        pooled = np.matmul(np.matmul(wy.astype(np.float32), crop), wx.T.astype(np.float32))
        out[k] = pooled * norm
    return out


def multilevel_roi_align(features: list[np.ndarray], boxes: np.ndarray, levels: np.ndarray,
                         strides: tuple[int, ...], output_size: int, sampling_ratio: int = 2) -> np.ndarray:
    """Pool each box from its assigned level (levels index `features`/`strides`)."""
    channels = features[0].shape[0]
    out = np.zeros((len(boxes), channels, output_size, output_size), dtype=np.float32)
    for level, (feat, stride) in enumerate(zip(features, strides)):
        idx = np.flatnonzero(levels == level)
        if idx.size:
            out[idx] = roi_align(feat, boxes[idx], output_size, 1.0 / stride, sampling_ratio)
    return out
