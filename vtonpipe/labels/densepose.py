"""DensePose fine-segmentation parts (ids 0-24), their body-part groups, and the parula rendering
VITON-HD and StableVITON ship as ``image-densepose``.

Part id i is drawn in OpenCV's PARULA colour of uint8(i * 255 / 24); background (0) is black, as
in StableVITON's DensePose4Gradio (alpha 1 on a black canvas).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

NUM_PARTS = 24

# Part ids (1/2 torso back/front, 7/9 and 8/10 upper legs ...) grouped by body part.
PART_GROUPS = {
    "Background": (0,),
    "torso": (1, 2),
    "right hand": (3,),
    "left hand": (4,),
    "right foot": (5,),
    "left foot": (6,),
    "right thigh": (7, 9),
    "left thigh": (8, 10),
    "right leg": (11, 13),
    "left leg": (12, 14),
    "left big arm": (15, 17),
    "right big arm": (16, 18),
    "left forearm": (19, 21),
    "right forearm": (20, 22),
    "face": (23, 24),
    "thighs": (7, 8, 9, 10),
    "legs": (11, 12, 13, 14),
    "hands": (3, 4),
    "feet": (5, 6),
    "big arms": (15, 16, 17, 18),
    "forearms": (19, 20, 21, 22),
}


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
