"""Agnostic recipes by name: which maps each reads and how it paints a person.

- ``catvton``: CatVTON's AutoMasker mask (DensePose parts + SCHP LIP + ATR) per cloth type, the
  person gray (128) on it.
- ``hrviton``: HR-VITON's agnostic-v3.2 (CIHP parse + BODY_25 pose), with the parse agnostic.
- ``vitonhd``: VITON-HD's original agnostic image, with the parse agnostic.
- ``ootd``: the demo-style mask of OOTDiffusion and the StableVITON Space (ATR with neck + COCO-18
  pose), gray 127; DressCode persons use its "dc" widths.

Each returns an Agnostic (image, mask 0/255, parse agnostic or None). Pose arrays are (K, 2)
x, y in image pixels with missing joints at 0, 0, in BODY_25 (K=25) or COCO-18 (K=18) order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vtonpipe.datasets.openpose import to_body25
from vtonpipe.errors import RowError
from vtonpipe.labels.pose import COCO18_TO_BODY25
from vtonpipe.masks.agnostic import agnostic_image, agnostic_mask
from vtonpipe.masks.annotations import atr_with_neck
from vtonpipe.masks.ootd import ootd_agnostic
from vtonpipe.masks.vitonhd import Agnostic, hrviton_agnostic, vitonhd_agnostic

OOTD_CATEGORY = {"upper": "upper_body", "lower": "lower_body", "overall": "dresses"}


def body25_xy(pose: np.ndarray) -> np.ndarray:
    """(25, 2) BODY_25 x, y from either order; MidHip is the mean of both hips when both exist."""
    pose = np.asarray(pose, dtype=np.float64)[:, :2]
    if pose.shape[0] == 25:
        return pose.copy()
    if pose.shape[0] != 18:
        raise RowError("bad_pose", f"{pose.shape[0]} keypoints (expected 18 or 25)")
    found = pose.any(axis=1).astype(np.float64)  # missing joints are 0, 0
    return to_body25(np.column_stack([pose, found]))[:, :2]


def coco18_xy(pose: np.ndarray) -> np.ndarray:
    """(18, 2) COCO-18 x, y from either order."""
    pose = np.asarray(pose, dtype=np.float64)[:, :2]
    if pose.shape[0] == 18:
        return pose.copy()
    if pose.shape[0] != 25:
        raise RowError("bad_pose", f"{pose.shape[0]} keypoints (expected 18 or 25)")
    return pose[list(COCO18_TO_BODY25)]


@dataclass(frozen=True)
class Recipe:
    name: str
    maps: tuple[str, ...]  # what it reads: densepose, lip, atr, cihp, pose
    cloth_types: tuple[str, ...]
    paint: Callable[[np.ndarray, dict[str, np.ndarray], str, str], Agnostic]


def _catvton(person, maps, cloth_type, dataset) -> Agnostic:
    mask = agnostic_mask(maps["densepose"], maps["lip"], maps["atr"], cloth_type)
    return Agnostic(agnostic_image(person, mask), mask, None)


def _hrviton(person, maps, cloth_type, dataset) -> Agnostic:
    return hrviton_agnostic(person, maps["cihp"], body25_xy(maps["pose"]))


def _vitonhd(person, maps, cloth_type, dataset) -> Agnostic:
    return vitonhd_agnostic(person, maps["cihp"], body25_xy(maps["pose"]))


def _ootd(person, maps, cloth_type, dataset) -> Agnostic:
    parse = atr_with_neck(maps["atr"], maps["lip"])
    return ootd_agnostic(person, parse, coco18_xy(maps["pose"]), OOTD_CATEGORY[cloth_type],
                         "dc" if dataset == "dresscode" else "hd")


ALL_TYPES = ("upper", "lower", "overall")
RECIPES = {
    "catvton": Recipe("catvton", ("densepose", "lip", "atr"), ALL_TYPES, _catvton),
    "hrviton": Recipe("hrviton", ("cihp", "pose"), ("upper",), _hrviton),
    "vitonhd": Recipe("vitonhd", ("cihp", "pose"), ("upper",), _vitonhd),
    "ootd": Recipe("ootd", ("lip", "atr", "pose"), ALL_TYPES, _ootd),
}
# The recipe each try-on model was trained with (the masks stage's default for it).
MODEL_RECIPES = {"catvton": "catvton", "stableviton": "hrviton"}


def paint(recipe: str, person: np.ndarray, maps: dict[str, np.ndarray], cloth_type: str, dataset: str) -> Agnostic:
    """Run recipe `recipe` on one person (RowError for a cloth type it cannot paint)."""
    spec = RECIPES[recipe]
    if cloth_type not in spec.cloth_types:
        raise RowError("recipe_cloth_type", f"the {recipe} recipe paints {'/'.join(spec.cloth_types)} garments, "
                                            f"not {cloth_type!r}: choose --recipe catvton or ootd")
    result = spec.paint(person, maps, cloth_type, dataset)
    if not result.mask.any():
        raise RowError("empty_mask", f"the {recipe} recipe found no {cloth_type} garment region")
    return result
