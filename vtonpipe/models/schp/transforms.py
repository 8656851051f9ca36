"""SCHP's pre- and post-processing geometry in numpy/cv2: letterbox affine, its inverse, normalisation.

The whole image is the person box ``[0, 0, w-1, h-1]``; the box is padded to the input aspect
ratio around its centre and scaled so that its first and last pixel centres land on the first
and last input pixel centres. The same uniform scale applies to both axes. Logits go back to the
original image through the inverse affine, channel by channel.
"""

from __future__ import annotations

import cv2
import numpy as np

# ImageNet statistics in B, G, R order: the network was trained on BGR images scaled to [0, 1].
MEAN_BGR = np.array([0.406, 0.456, 0.485], dtype=np.float32)
STD_BGR = np.array([0.225, 0.224, 0.229], dtype=np.float32)

# cv2 warps up to 4 channels per call with the same interpolation path as a single channel.
_WARP_CHANNELS = 4


def letterbox_matrix(width: int, height: int, input_size: tuple[int, int]) -> np.ndarray:
    """2x3 affine from original pixel coordinates to network-input coordinates.

    `input_size` is (height, width) of the network input. Matches SCHP's ``_xywh2cs`` +
    ``get_affine_transform(center, scale, rot=0, input_size)``.
    """
    if width < 2 or height < 2:
        raise ValueError(f"image of {width}x{height} pixels is too small to parse")
    in_h, in_w = input_size
    box_w, box_h = float(width - 1), float(height - 1)
    aspect = in_w / in_h
    if box_w > aspect * box_h:
        box_h = box_w / aspect
    elif box_w < aspect * box_h:
        box_w = box_h * aspect
    # SCHP derives one scale from the padded box width and uses it for both axes.
    k = (in_w - 1) / box_w
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    return np.array(
        [[k, 0.0, (in_w - 1) / 2.0 - k * cx], [0.0, k, (in_h - 1) / 2.0 - k * cy]], dtype=np.float64
    )


def inverse_matrix(matrix: np.ndarray) -> np.ndarray:
    """The 2x3 affine that undoes `matrix`."""
    return cv2.invertAffineTransform(matrix)


def warp_to_input(bgr: np.ndarray, matrix: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """uint8 BGR image letterboxed onto the network input (black border, bilinear)."""
    in_h, in_w = input_size
    return cv2.warpAffine(
        bgr, matrix, (in_w, in_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )


def normalize(bgr: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 BGR -> float32 1x3xHxW network input."""
    x = (bgr.astype(np.float32) / 255.0 - MEAN_BGR) / STD_BGR
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def warp_logits_back(logits: np.ndarray, inverse: np.ndarray, width: int, height: int) -> np.ndarray:
    """CxHxW logits at input size -> HxWxC logits on the original image (bilinear, zero border)."""
    chunks = []
    for start in range(0, logits.shape[0], _WARP_CHANNELS):
        chunk = np.ascontiguousarray(logits[start : start + _WARP_CHANNELS].transpose(1, 2, 0))
        warped = cv2.warpAffine(
            chunk, inverse, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        chunks.append(warped.reshape(height, width, -1))
    return np.concatenate(chunks, axis=2)


def labels_from_logits(logits_hwc: np.ndarray) -> np.ndarray:
    """Per-pixel argmax as a uint8 label map."""
    return np.argmax(logits_hwc, axis=2).astype(np.uint8)
