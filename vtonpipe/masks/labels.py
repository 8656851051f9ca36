"""Label ids of the maps the mask code reads: SCHP LIP (20 classes), SCHP ATR (18), CIHP (20) and
DensePose fine-segmentation parts (0-24), grouped the way CatVTON's AutoMasker groups them.

Names are looked up per map; a name a map does not have (ATR has no Coat, LIP has no Bag) simply
selects nothing in that map.
"""

from __future__ import annotations

import numpy as np

from vtonpipe.models.densepose.render import NUM_PARTS
from vtonpipe.models.schp import labels as schp_labels

LIP = {name: i for i, name in enumerate(schp_labels.LIP.classes)}
ATR = {name: i for i, name in enumerate(schp_labels.ATR.classes)}

# CIHP (VITON-HD image-parse-v3) shares LIP's ids except 10, which is the neck/torso skin.
CIHP = {**LIP, "Neck": 10}
del CIHP["Jumpsuits"]

# DensePose part ids (1/2 torso back/front, 7/9 and 8/10 upper legs ...) grouped by body part.
DENSEPOSE = {
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

NUM_CLASSES = {"lip": len(LIP), "atr": len(ATR), "densepose": NUM_PARTS + 1}  # part ids 1-24 and background


def part_ids(names: list[str] | tuple[str, ...], mapping: dict) -> list[int]:
    """Ids of `names` in `mapping`; names the map lacks are skipped."""
    ids: list[int] = []
    for name in names:
        value = mapping.get(name)
        if value is not None:
            ids.extend(value if isinstance(value, tuple) else (value,))
    return ids


def part_mask(labels: np.ndarray, names: list[str] | tuple[str, ...], mapping: dict) -> np.ndarray:
    """Boolean mask of the pixels of `labels` whose class is one of `names`."""
    return np.isin(labels, part_ids(names, mapping))
