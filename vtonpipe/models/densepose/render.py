"""The ``image-densepose`` rendering used by VITON-HD and StableVITON: parula colours of I*255/24.

Part id i maps to OpenCV's PARULA colour of uint8(i * 255 / 24); background (0) is black, as in
StableVITON's DensePose4Gradio (alpha 1 on a black canvas).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

NUM_PARTS = 24


@lru_cache(maxsize=1)
def parula_table() -> np.ndarray:
    """(25, 3) uint8 RGB colour per part id; row 0 (background) is black."""
    scaled = (np.arange(NUM_PARTS + 1, dtype=np.float32) * 255 / NUM_PARTS).astype(np.uint8)
    table = cv2.applyColorMap(scaled.reshape(-1, 1), cv2.COLORMAP_PARULA)[:, 0, ::-1].copy()
    table[0] = 0
    table.setflags(write=False)
    return table


def render_parts(parts: np.ndarray) -> np.ndarray:
    """uint8 HxW part ids (0-24) -> uint8 HxWx3 RGB rendering."""
    if parts.dtype != np.uint8 or parts.ndim != 2 or parts.max(initial=0) > NUM_PARTS:
        raise ValueError("expected a uint8 HxW map of part ids 0-24")
    return parula_table()[parts]
