"""Label maps from the annotations a dataset ships, in the form the mask code reads.

VITON-HD ships CIHP parses (``image-parse-v3``) and DensePose *renderings* (``image-densepose``,
parula colours, JPEG); DressCode ships SCHP-ATR parses (``label_maps``) and DensePose part labels
(``dense``). These functions turn them into SCHP LIP / ATR maps and DensePose part ids.

CIHP -> ATR (ATR has no glove, socks, coat, jumpsuits or neck):

====================  ==========================  ===========================================
CIHP                  ATR                         why
====================  ==========================  ===========================================
0 Background          0 Background
1 Hat, 2 Hair         1 Hat, 2 Hair
3 Glove               14/15 Left/Right-arm        SCHP-ATR labels hands as arms; the side is
                                                  that of the nearest arm pixel
4 Sunglasses          3 Sunglasses
5 Upper-clothes       4 Upper-clothes
6 Dress               7 Dress
7 Coat                4 Upper-clothes             ATR's only upper-body garment
8 Socks               12/13 Left/Right-leg        side of the nearest leg pixel
9 Pants               6 Pants
10 Neck (torso skin)  11 Face                     SCHP-ATR calls the neck Face (OOTDiffusion
                                                  reads ATR Face minus LIP Face as the neck)
11 Scarf              17 Scarf
12 Skirt              5 Skirt
13 Face               11 Face
14/15 arms            14/15 arms
16/17 legs            12/13 legs
18/19 shoes           9/10 Left/Right-shoe
====================  ==========================  ===========================================

CIHP -> LIP keeps every id except 10: CIHP's neck is LIP background (SCHP-LIP has no neck class
and leaves it unlabelled), never LIP's 10 Jumpsuits.

The other way, ``cihp_from_schp`` builds VITON-HD's image-parse-v3 from SCHP LIP + ATR maps:
LIP's ids, the neck (10) where LIP says background and ATR says face (the inverse of the two
rules above, so CIHP -> LIP, ATR -> CIHP gives the map back), and LIP's Jumpsuits split by ATR's
garment there (Upper-clothes 5, Pants 9, Skirt 12, anything else Dress 6). ``atr_with_neck``
builds the demos' parse for their mask: ATR's ids with 18 where ATR says face and LIP does not.
"""

from __future__ import annotations

import cv2
import numpy as np

from vtonpipe.labels.densepose import parula_table
from vtonpipe.labels.parsing import ATR_IDS, CIHP_IDS, LIP_IDS

_CIHP_TO_ATR_NAMES = {
    "Background": "Background", "Hat": "Hat", "Hair": "Hair", "Sunglasses": "Sunglasses",
    "Upper-clothes": "Upper-clothes", "Dress": "Dress", "Coat": "Upper-clothes", "Pants": "Pants",
    "Neck": "Face", "Scarf": "Scarf", "Skirt": "Skirt", "Face": "Face",
    "Left-arm": "Left-arm", "Right-arm": "Right-arm", "Left-leg": "Left-leg", "Right-leg": "Right-leg",
    "Left-shoe": "Left-shoe", "Right-shoe": "Right-shoe",
}  # fmt: skip
# CIHP classes with no side that take the side of the nearest limb: (CIHP class, ATR limb pair).
_SIDED = (("Glove", ("Left-arm", "Right-arm")), ("Socks", ("Left-leg", "Right-leg")))
NUM_CIHP = 20
NECK_LABEL = 18  # the label OOTDiffusion / the StableVITON Space add to the ATR parse

# Pixels brighter than this (max channel) belong to the body: the darkest part colour (part 1)
# has a channel of 163, the background is black.
BLACK_MAX = 60
# Within this RGB distance of a table colour a pixel is that colour; neighbouring parts' colours
# are at least 12 apart, and JPEG (quality 95) keeps flat areas within a few units.
EXACT = 6.0
# A pixel farther than this (RGB distance) from every part colour is not a parula rendering.
COLOUR_CUTOFF = 60.0
# More than this fraction of such pixels in the body means the file is not a rendering at all.
MAX_UNMATCHED = 0.05


def _check_cihp(cihp: np.ndarray) -> None:
    if cihp.ndim != 2 or cihp.max(initial=0) >= NUM_CIHP:
        raise ValueError(f"expected an HxW map of CIHP ids 0-{NUM_CIHP - 1}")


def lip_from_cihp(cihp: np.ndarray) -> np.ndarray:
    """uint8 HxW SCHP-LIP ids from CIHP ids: the same ids, with the neck as background."""
    _check_cihp(cihp)
    lip = cihp.astype(np.uint8)  # a copy
    lip[cihp == CIHP_IDS["Neck"]] = LIP_IDS["Background"]
    return lip


def _nearest_seed_labels(labels: np.ndarray, seeds: np.ndarray, where: np.ndarray) -> np.ndarray:
    """For the pixels `where`, the label of the nearest pixel of `seeds` (which must not be empty)."""
    # distanceTransform measures to zero pixels: the seeds are the zeros, each numbered.
    _, nearest = cv2.distanceTransformWithLabels(
        (~seeds).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    seed_label = np.zeros(int(nearest.max()) + 1, np.uint8)
    seed_label[nearest[seeds]] = labels[seeds]
    return seed_label[nearest[where]]


def _nearest_side(labels: np.ndarray, where: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """For the pixels `where`, the label of `pair` (left, right) carried by the nearest such pixel.

    With neither in the map, the side follows the image half: a front-facing person's right is on
    the image's left.
    """
    seeds = np.isin(labels, pair)
    if seeds.any():
        return _nearest_seed_labels(labels, seeds, where)
    columns = np.broadcast_to(np.arange(labels.shape[1]), labels.shape)[where]
    return np.where(columns < labels.shape[1] // 2, pair[1], pair[0]).astype(np.uint8)


def atr_from_cihp(cihp: np.ndarray) -> np.ndarray:
    """uint8 HxW SCHP-ATR ids from CIHP ids (table in the module docstring)."""
    _check_cihp(cihp)
    lut = np.zeros(256, np.uint8)
    for cihp_name, atr_name in _CIHP_TO_ATR_NAMES.items():
        lut[CIHP_IDS[cihp_name]] = ATR_IDS[atr_name]
    atr = lut[cihp]
    for cihp_name, pair in _SIDED:
        where = cihp == CIHP_IDS[cihp_name]
        if where.any():
            atr[where] = _nearest_side(atr, where, (ATR_IDS[pair[0]], ATR_IDS[pair[1]]))
    return atr


def cihp_from_schp(lip: np.ndarray, atr: np.ndarray) -> np.ndarray:
    """uint8 HxW CIHP ids (VITON-HD image-parse-v3) from SCHP-LIP and SCHP-ATR maps of one image."""
    if lip.shape != atr.shape or lip.ndim != 2:
        raise ValueError(f"expected LIP and ATR maps of one size, got {lip.shape} and {atr.shape}")
    cihp = lip.astype(np.uint8)  # a copy
    cihp[(lip == LIP_IDS["Background"]) & (atr == ATR_IDS["Face"])] = CIHP_IDS["Neck"]
    jumpsuit = lip == LIP_IDS["Jumpsuits"]
    cihp[jumpsuit] = CIHP_IDS["Dress"]
    for name in ("Upper-clothes", "Pants", "Skirt"):
        cihp[jumpsuit & (atr == ATR_IDS[name])] = CIHP_IDS[name]
    return cihp


def atr_with_neck(atr: np.ndarray, lip: np.ndarray) -> np.ndarray:
    """uint8 HxW: ATR ids with NECK_LABEL where ATR says face and LIP does not."""
    if lip.shape != atr.shape:
        raise ValueError(f"expected ATR and LIP maps of one size, got {atr.shape} and {lip.shape}")
    out = atr.astype(np.uint8)
    out[(atr == ATR_IDS["Face"]) & (lip != LIP_IDS["Face"])] = NECK_LABEL
    return out


def parts_from_rendering(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxW DensePose part ids (0-24) from an ``image-densepose`` RGB rendering.

    A pixel within EXACT of a table colour (black = background) takes that part. JPEG blends
    colours across part edges, so a blended pixel would match some third part lying between
    the two in the colour map; such pixels take the part of the nearest exactly matched pixel.
    Raises ValueError when too much of the body matches no part colour (not a parula rendering).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB rendering, got shape {rgb.shape}")
    colours = parula_table().astype(np.float32)  # row 0: black background
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    # |p - c|^2 expanded, so memory stays (pixels x 25) at full resolution.
    squared = (pixels**2).sum(1)[:, None] - 2 * pixels @ colours.T + (colours**2).sum(1)[None, :]
    nearest = squared.argmin(axis=1)
    distance = np.sqrt(np.maximum(squared[np.arange(len(pixels)), nearest], 0)).reshape(rgb.shape[:2])
    parts = nearest.astype(np.uint8).reshape(rgb.shape[:2])
    body = rgb.max(axis=2) > BLACK_MAX
    unmatched = (distance > COLOUR_CUTOFF) & body
    if body.any() and unmatched.sum() > MAX_UNMATCHED * body.sum():
        raise ValueError(
            f"{unmatched.sum() / body.sum():.1%} of the non-black pixels are no DensePose part "
            "colour: not an image-densepose rendering"
        )
    exact = distance <= EXACT
    if not exact.any():
        raise ValueError("no pixel matches a DensePose part colour or black")
    blended = ~exact
    if blended.any():
        parts[blended] = _nearest_seed_labels(parts, exact, blended)
    return parts


def pose_xy(path: str) -> np.ndarray:
    """(K, 2) x, y of the first person of an OpenPose keypoints file (RowError when it has none)."""
    from vtonpipe.datasets.openpose import read_pose

    try:
        return read_pose(path)
    except ValueError as exc:
        raise ValueError(f"not an OpenPose keypoints file: {exc}") from None


# Per dataset, per annotation column of the persons manifest: how the file is read ("labels",
# "rgb", or "path" for files a converter reads itself) and the maps it yields. DressCode's files
# already hold ATR ids and DensePose part ids.
SHIPPED_MAPS = {
    "vitonhd": {
        "ann_parse": ("labels", {"lip": lip_from_cihp, "atr": atr_from_cihp, "cihp": np.asarray}),
        "ann_densepose": ("rgb", {"densepose": parts_from_rendering}),
        "ann_pose": ("path", {"pose": pose_xy}),
    },
    "dresscode": {
        "ann_parse": ("labels", {"atr": np.asarray}),
        "ann_densepose": ("labels", {"densepose": np.asarray}),
    },
}
