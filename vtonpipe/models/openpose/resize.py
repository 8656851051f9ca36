"""The OpenPose body estimator's pre-processing and map upsampling, per code variant (numpy + OpenCV).

One scale (0.5 x 368 / image height, i.e. a 184-pixel-high network input), padded right and
bottom to multiples of 8 with 128, scaled to ``pixel/256 - 0.5``. The network's maps go up x8,
lose the padding and are resized to the image. The two variants resample differently:

``controlnet11`` (ControlNet 1.1 annotator, as copied into OOTDiffusion, the StableVITON Space and
    IDM-VTON): image to ``(int(W*m), int(H*m))`` with INTER_AREA when shrinking, else
    INTER_LANCZOS4; maps one channel at a time, INTER_LANCZOS4 (INTER_AREA if the image is smaller
    than the cropped maps).
``controlnet10`` (ControlNet 1.0 / pytorch-openpose): ``cv2.resize(fx=m, fy=m)`` INTER_CUBIC for
    the image; all 19 heatmap (38 PAF) channels in one INTER_CUBIC call per step.

Full-resolution maps are exact float32 values of those OpenCV calls. ``LanczosMaps`` (controlnet11)
computes them only where they are read: a Lanczos enlargement whose size ratio reduces to p/q
with p a power of two (e.g. 184 -> 1024 and 138 -> 768, both 128/23) maps every block of q source
pixels onto p output pixels with the same fractional offsets, so resizing an aligned crop (plus a
margin of whole blocks) reproduces the full call bit for bit; other ratios resize whole channels.
``DenseMaps`` (controlnet10) holds the full maps from the reference's multi-channel calls:
OpenCV's cubic resize of 1, 3 or 4 channels takes another code path than other channel counts,
so those calls are kept as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vtonpipe.labels.pose import NUM_PARTS
from vtonpipe.models.openpose.postprocess import REGION_THRESHOLD

VARIANTS = ("controlnet11", "controlnet10")
BOX_SIZE = 368
SCALE = 0.5
STRIDE = 8
PAD_VALUE = 128
# Bound on the sum of |weights| of one Lanczos4 output pixel per axis (largest at offset 0.5).
LANCZOS4_ABS_SUM = 1.72
# Column blocks must keep OpenCV's SIMD lanes (up to 16 floats) on the same output columns.
COLUMN_ALIGN = 16


def net_scale(height: int) -> float:
    """The single scale factor of the default search: 0.5 x 368 / image height."""
    return SCALE * BOX_SIZE / height


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


@dataclass(frozen=True)
class Geometry:
    """Sizes along the chain, each (height, width): the image, the image at the network scale,
    and the padded network input."""

    image: tuple[int, int]
    resized: tuple[int, int]
    padded: tuple[int, int]


def resize_image(bgr: np.ndarray, variant: str) -> np.ndarray:
    """The image at the network scale, resampled as `variant` does."""
    _check_variant(variant)
    height, width = bgr.shape[:2]
    m = net_scale(height)
    if variant == "controlnet10":
        return cv2.resize(bgr, (0, 0), fx=m, fy=m, interpolation=cv2.INTER_CUBIC)
    target_h, target_w = height * m, width * m
    shrink = (target_h + target_w) / (height + width) < 1
    return cv2.resize(bgr, (int(target_w), int(target_h)),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)


def network_input(bgr: np.ndarray, variant: str) -> tuple[np.ndarray, Geometry]:
    """uint8 HxWx3 BGR -> (float32 [1,3,Hp,Wp] network input, Geometry)."""
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected a uint8 HxWx3 BGR image, got {bgr.dtype} {bgr.shape}")
    resized = resize_image(bgr, variant)
    h, w = resized.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"image of {bgr.shape[1]}x{bgr.shape[0]} pixels is too narrow for the network")
    hp, wp = -(-h // STRIDE) * STRIDE, -(-w // STRIDE) * STRIDE
    padded = np.full((hp, wp, 3), PAD_VALUE, np.uint8)
    padded[:h, :w] = resized
    x = padded.transpose(2, 0, 1)[None].astype(np.float32) / 256 - 0.5
    return np.ascontiguousarray(x), Geometry(bgr.shape[:2], (h, w), (hp, wp))


def _enlarged(channel: np.ndarray) -> np.ndarray:
    """One 2-D map x STRIDE (controlnet11: always an enlargement, so INTER_LANCZOS4)."""
    h, w = channel.shape
    return cv2.resize(np.ascontiguousarray(channel), (w * STRIDE, h * STRIDE), interpolation=cv2.INTER_LANCZOS4)


class _Axis:
    """How one axis of a Lanczos enlargement ``src -> dst`` splits into exact blocks (see module doc)."""

    def __init__(self, src: int, dst: int, align: int = 1):
        g = math.gcd(src, dst)
        self.src, self.dst = src, dst
        self.q, self.p = src // g, dst // g  # q source pixels -> p output pixels per block
        self.blocks = g
        self.tiled = self.p & (self.p - 1) == 0 and self.p % align == 0 and dst > src and g > 1
        # Source pixel of tap 3 of each output pixel (OpenCV: floor of the float32 source coordinate).
        scale = 1.0 / (dst / src)
        self.centre = np.floor(((np.arange(dst) + 0.5) * scale - 0.5).astype(np.float32)).astype(np.int64)

    def covering(self, lo: int, hi: int) -> tuple[int, int]:
        """Output range [a, b) holding every pixel whose taps (-3..+4, one spare each side) reach
        source pixels [lo, hi)."""
        idx = np.flatnonzero((self.centre - 4 <= hi - 1) & (self.centre + 5 >= lo))
        return (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)

    def plan(self, a: int, b: int) -> tuple[slice, int, slice]:
        """For output pixels [a, b): (source slice to resize, its output size, slice of [a, b) in
        that output). Tiled axes take the whole blocks holding the taps of [a, b) (one spare source
        pixel each side); others the whole axis."""
        if not self.tiled:
            return slice(0, self.src), self.dst, slice(a, b)
        first = max((int(self.centre[a]) - 4) // self.q, 0)
        last = min((int(self.centre[b - 1]) + 5) // self.q + 1, self.blocks)
        offset = first * self.p
        return slice(first * self.q, last * self.q), (last - first) * self.p, slice(a - offset, b - offset)


class LanczosMaps:
    """controlnet11 full-resolution maps, computed exactly on demand (see module doc).

    `heatmaps` [19,h,w] and `pafs` [38,h,w] are the network outputs of one image.
    """

    def __init__(self, heatmaps: np.ndarray, pafs: np.ndarray, geometry: Geometry):
        crop_h, crop_w = geometry.resized
        self.shape = geometry.image
        self._heat = [_enlarged(c)[:crop_h, :crop_w].copy() for c in heatmaps[:NUM_PARTS]]
        self._pafs = pafs
        self._crop = (crop_h, crop_w)
        height, width = self.shape
        self._area = (height + width) / (crop_h + crop_w) < 1
        self._rows = _Axis(crop_h, height)
        self._cols = _Axis(crop_w, width, COLUMN_ALIGN)

    def _resize(self, source: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """Values of the full resize of `source` (HxW or HxWxC) on rows x cols of the image."""
        height, width = self.shape
        if self._area:
            full = cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
            return full[rows[0]:rows[1], cols[0]:cols[1]]
        src_r, out_h, keep_r = self._rows.plan(*rows)
        src_c, out_w, keep_c = self._cols.plan(*cols)
        crop = np.ascontiguousarray(source[src_r, src_c])
        return cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_LANCZOS4)[keep_r, keep_c]

    def heatmap_region(self, part: int) -> tuple[int, int, int, int] | None:
        """(r0, r1, c0, c1) outside which the part's map is at most REGION_THRESHOLD, or None."""
        bound = REGION_THRESHOLD / (1.0 if self._area else LANCZOS4_ABS_SUM**2)
        rows, cols = np.nonzero(np.abs(self._heat[part]) > bound)
        if rows.size == 0:
            return None
        if self._area:
            return 0, self.shape[0], 0, self.shape[1]
        r0, r1 = self._rows.covering(int(rows.min()), int(rows.max()) + 1)
        c0, c1 = self._cols.covering(int(cols.min()), int(cols.max()) + 1)
        return r0, r1, c0, c1

    def heatmap(self, part: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """float32 values of part `part`'s full-resolution map on [r0, r1) x [c0, c1)."""
        return self._resize(self._heat[part], (r0, r1), (c0, c1))

    def paf_values(self, channels: tuple[int, int], ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """float32 [n, 2] values of two PAF channels at the full-resolution pixels (ys, xs)."""
        crop_h, crop_w = self._crop
        pair = np.stack([_enlarged(self._pafs[c])[:crop_h, :crop_w] for c in channels], axis=2)
        r0, r1, c0, c1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
        values = self._resize(pair, (r0, r1), (c0, c1))
        return values[ys - r0, xs - c0]


class DenseMaps:
    """Full-resolution maps held whole: float32 HxWx18+ heatmaps and HxWx38 PAFs."""

    def __init__(self, heatmaps: np.ndarray, pafs: np.ndarray):
        self._heat, self._pafs = heatmaps, pafs
        self.shape = heatmaps.shape[:2]

    @classmethod
    def controlnet10(cls, heatmaps: np.ndarray, pafs: np.ndarray, geometry: Geometry) -> DenseMaps:
        """The controlnet10 chain on the network outputs [19,h,w] and [38,h,w]."""
        return cls(_cubic_chain(heatmaps, geometry), _cubic_chain(pafs, geometry))

    def heatmap_region(self, part: int) -> tuple[int, int, int, int] | None:
        rows, cols = np.nonzero(self._heat[:, :, part] > REGION_THRESHOLD)
        if rows.size == 0:
            return None
        return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1

    def heatmap(self, part: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        return self._heat[r0:r1, c0:c1, part]

    def paf_values(self, channels: tuple[int, int], ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        return self._pafs[ys, xs][:, list(channels)]


def _cubic_chain(maps: np.ndarray, geometry: Geometry) -> np.ndarray:
    """controlnet10: [C,h,w] -> HxWxC float32, every channel in each call."""
    crop_h, crop_w = geometry.resized
    height, width = geometry.image
    up = cv2.resize(np.ascontiguousarray(maps.transpose(1, 2, 0)), (0, 0), fx=STRIDE, fy=STRIDE,
                    interpolation=cv2.INTER_CUBIC)
    return cv2.resize(up[:crop_h, :crop_w], (width, height), interpolation=cv2.INTER_CUBIC)


def full_resolution_maps(heatmaps: np.ndarray, pafs: np.ndarray, geometry: Geometry, variant: str):
    """The variant's full-resolution maps of one image's network outputs ([19,h,w], [38,h,w])."""
    _check_variant(variant)
    if variant == "controlnet10":
        return DenseMaps.controlnet10(heatmaps, pafs, geometry)
    return LanczosMaps(heatmaps, pafs, geometry)
