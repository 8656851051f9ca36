"""StableVITON's image preparation and output conversion in numpy/OpenCV (no torch), as the
official test-time dataset and inference script do them.

- Images: bilinear resize (cv2 INTER_LINEAR) of the uint8 RGB image to the model size, then
  x / 127.5 - 1 (float32).
- Agnostic mask (file: 255 = region to generate): binarised at 128 at its native size, resized
  like an image (so edges turn soft), inverted, / 255: 1 on kept pixels, 0 where to generate.
- Latent mask channel: that mask resized to the latent size, bilinear without antialiasing; for
  the x8 reduction each value is the mean of the 2x2 pixels at the centre of its 8x8 block.
- Output: clip to [-1, 1], (x + 1) / 2, x 255, truncated to uint8 (not rounded).
- Repaint: person uint8 recovered from the normalised float tensor (truncating, so values
  1..63 come back one lower), blended person * m + generated * (1 - m), truncated.
"""

from __future__ import annotations

import cv2
import numpy as np


def _check_rgb(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must be a uint8 RGB image HxWx3, got {image.dtype} {image.shape}")
    return image


def model_image(rgb: np.ndarray, height: int, width: int, name: str = "image") -> np.ndarray:
    """uint8 RGB at any size -> float32 HxWx3 in [-1, 1] at (height, width)."""
    resized = cv2.resize(_check_rgb(rgb, name), (width, height), interpolation=cv2.INTER_LINEAR)
    return resized.astype(np.float32) / 127.5 - 1.0


def kept_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Agnostic mask (uint8 HxW or RGB, >= 128 = generate) -> float32 HxWx1, 1 = keep."""
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = cv2.cvtColor(_check_rgb(mask, "agnostic_mask"), cv2.COLOR_RGB2GRAY)
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"agnostic_mask must be a uint8 HxW image, got {mask.dtype} {mask.shape}")
    binary = np.uint8((mask >= 128).astype(np.float32) * 255.0)
    resized = cv2.resize(binary, (width, height), interpolation=cv2.INTER_LINEAR)
    return ((255 - resized).astype(np.float32) / 255.0)[..., None]


def latent_mask(kept: np.ndarray, factor: int) -> np.ndarray:
    """float32 HxWx1 -> float32 (H/f)x(W/f): bilinear, align_corners=False, no antialiasing, for
    an even integer factor f (sampling points fall midway between pixels f/2 - 1 and f/2)."""
    if factor % 2:
        raise ValueError(f"latent factor {factor} is not even")
    m = kept[..., 0]
    lo, hi = factor // 2 - 1, factor // 2
    half = np.float32(0.5)
    top = half * m[lo::factor, lo::factor] + half * m[lo::factor, hi::factor]
    bottom = half * m[hi::factor, lo::factor] + half * m[hi::factor, hi::factor]
    return half * top + half * bottom


def to_uint8(decoded: np.ndarray) -> np.ndarray:
    """Decoder output 3xHxW in about [-1, 1] -> uint8 HxWx3, truncating."""
    x = np.clip(decoded.transpose(1, 2, 0), -1, 1)
    return ((x + 1) / 2 * 255.0).astype(np.uint8)


def repaint(person: np.ndarray, kept: np.ndarray, generated: np.ndarray) -> np.ndarray:
    """Blend the normalised person (HxWx3 in [-1, 1]) back outside the region to generate."""
    person_u8 = ((person + 1) / 2 * 255).astype(np.uint8)
    return (person_u8 * kept + generated * (1 - kept)).astype(np.uint8)
