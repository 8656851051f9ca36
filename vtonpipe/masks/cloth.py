"""Cloth masks for in-shop garment photos on a plain light background.

The background colour and its noise level are estimated from the image border; pixels that
differ from it by more than the noise are the garment. Morphology removes speckles and bridges
seams, small stray components are dropped, enclosed holes (prints, a background-coloured logo)
are filled, and GrabCut can optionally refine the outline. A garment that cannot be told apart
from its background raises NoGarmentError instead of returning an empty or full-frame mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BORDER = 4  # border strip width (pixels) sampled for the background
MIN_THRESHOLD = 12.0  # colour distance (0-255, max over channels) that is never background noise
MAX_BORDER_SPREAD = 30.0  # a border noisier than this is not a plain background
MIN_AREA = 0.01  # smallest garment, as a fraction of the image
MAX_AREA = 0.97  # a "garment" covering more than this means the background was not found
KEEP_RATIO = 0.1  # components smaller than this fraction of the largest are stray specks
HALO_BAND = 3  # edge band (pixels) where a garment edge may be smeared by JPEG


class NoGarmentError(ValueError):
    """The garment cannot be separated from the background; `reason` says why."""


@dataclass(frozen=True)
class Background:
    color: np.ndarray  # (3,) float RGB
    noise: float  # 99th percentile colour distance within the border strip


def _distance(image: np.ndarray, color: np.ndarray) -> np.ndarray:
    return np.abs(image.astype(np.float32) - color.astype(np.float32)).max(axis=-1)


def estimate_background(image: np.ndarray, border: int = BORDER) -> Background:
    """Median colour of the image border and how much the border deviates from it."""
    strip = np.concatenate(
        [
            image[:border].reshape(-1, 3),
            image[-border:].reshape(-1, 3),
            image[:, :border].reshape(-1, 3),
            image[:, -border:].reshape(-1, 3),
        ]
    )
    color = np.median(strip, axis=0)
    noise = float(np.percentile(_distance(strip[None], color)[0], 99))
    return Background(color, noise)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Boolean mask with every region not connected to the image border filled."""
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    # Flood the outside from the padded corner; what stays 0 is enclosed by the mask.
    flood_mask = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(padded, flood_mask, (0, 0), 2)
    return padded[1:-1, 1:-1] != 2


def keep_main_components(mask: np.ndarray, keep_ratio: float = KEEP_RATIO) -> np.ndarray:
    """Drop 8-connected components smaller than keep_ratio x the largest one."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= keep_ratio * areas.max()) + 1
    return np.isin(labels, keep)


def _grabcut(image: np.ndarray, mask: np.ndarray, margin: int, iterations: int = 3) -> np.ndarray:
    """Refine a mask with GrabCut: sure inside/outside far from the edge, uncertain near it."""
    kernel = _ellipse(margin)
    inside = cv2.erode(mask.astype(np.uint8), kernel) > 0
    near = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    labels = np.full(mask.shape, cv2.GC_BGD, np.uint8)
    labels[near] = cv2.GC_PR_BGD
    labels[mask] = cv2.GC_PR_FGD
    labels[inside] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    cv2.grabCut(bgr, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def _ellipse(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def trim_halo(mask: np.ndarray, distance: np.ndarray, band: int = HALO_BAND) -> np.ndarray:
    """Drop edge pixels that differ from the background by less than half the garment's local
    contrast: JPEG chroma subsampling smears the garment colour a pixel or two outwards.
    """
    mask8 = mask.astype(np.uint8)
    edge = mask & (cv2.erode(mask8, _ellipse(band)) == 0)
    inner = (cv2.erode(mask8, _ellipse(band + 1)) > 0).astype(np.float32)
    window = (4 * band + 3,) * 2
    weight = cv2.blur(inner, window)
    contrast = cv2.blur(distance * inner, window) / np.maximum(weight, 1e-6)
    return mask & ~(edge & (weight > 0) & (distance < 0.5 * contrast))


def cloth_mask(image: np.ndarray, grabcut: bool = False) -> np.ndarray:
    """Boolean HxW garment mask of an RGB product photo on a plain background.

    Raises NoGarmentError when the background is not plain or no garment stands out from it.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    h, w = image.shape[:2]
    background = estimate_background(image)
    if background.noise > MAX_BORDER_SPREAD:
        raise NoGarmentError(
            f"the image border is not a plain background (spread {background.noise:.0f} > "
            f"{MAX_BORDER_SPREAD:.0f}); the garment cannot be separated"
        )
    threshold = max(MIN_THRESHOLD, 2.0 * background.noise + 4.0)
    distance = _distance(image, background.color)
    mask = trim_halo(distance > threshold, distance)

    side = max(h, w)
    mask8 = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, _ellipse(1))
    mask8 = cv2.morphologyEx(mask8, cv2.MORPH_CLOSE, _ellipse(max(1, side // 200)))
    mask = fill_holes(keep_main_components(mask8 > 0))
    if grabcut and mask.any():
        mask = fill_holes(keep_main_components(_grabcut(image, mask, margin=max(2, side // 100))))

    area = mask.mean()
    if area < MIN_AREA:
        raise NoGarmentError(
            f"no garment stands out from the background (colour {background.color.round().tolist()}): "
            f"{area:.1%} of the image differs from it"
        )
    if area > MAX_AREA:
        raise NoGarmentError(f"the garment mask covers {area:.1%} of the image: no background found")
    return mask
