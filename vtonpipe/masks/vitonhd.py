"""VITON-HD's clothing-agnostic inputs from a CIHP parse and BODY_25 keypoints:

* ``hrviton_agnostic``: ``agnostic-v3.2`` as HR-VITON's dataset draws it (adaptive radius, neck
  band above the neck point, arm-band restore of forearms and hands), at any image size (HR-VITON
  hard-codes a 768x1024 canvas for the restore step);
* ``vitonhd_agnostic``: VITON-HD's original recipe (fixed radius 20, square neck patch, no restore);
* ``parse_agnostic``: ``image-parse-agnostic-v3.2`` (arm labels inside drawn arm bands, upper
  clothes, dress, coat and neck set to background).

The shapes are drawn with Pillow's ImageDraw exactly as the reference calls it (float
coordinates, the same widths and order), once, on an 'L' canvas; the painted-region mask is that
canvas minus the pixels the reference pastes back (restored arms, head {4, 13}, lower body {9, 12,
16-19}), and the agnostic image is the person with gray (128) on the mask, pixel-identical to the
reference's. Keypoints are BODY_25 (x, y) rows in image pixels with missing joints at (0, 0), as
``people[0].pose_keypoints_2d`` of an OpenPose file gives them; the caller's array is not changed.

Where the reference would draw garbage (hip normalisation divides by the hip distance; the radius
and torso come from the shoulders; the neck patch from the neck point), a missing or coincident
neck, shoulder or hip raises RowError("pose_missing_joint").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from vtonpipe.errors import RowError
from vtonpipe.labels.parsing import CIHP_IDS

GRAY = 128
HEAD = (CIHP_IDS["Sunglasses"], CIHP_IDS["Face"])
LOWER = tuple(CIHP_IDS[n] for n in ("Pants", "Skirt", "Left-leg", "Right-leg", "Left-shoe", "Right-shoe"))
REMOVED_CLOTHES = (CIHP_IDS["Upper-clothes"], CIHP_IDS["Dress"], CIHP_IDS["Coat"])
NECK = CIHP_IDS["Neck"]
# (CIHP arm label, BODY_25 joints of its band): the person's left arm is label 14, joints 5-7.
RESTORE_ARMS = ((CIHP_IDS["Left-arm"], (5, 6, 7)), (CIHP_IDS["Right-arm"], (2, 3, 4)))
PARSE_ARMS = ((CIHP_IDS["Left-arm"], (2, 5, 6, 7)), (CIHP_IDS["Right-arm"], (5, 2, 3, 4)))
REQUIRED = {1: "Neck", 2: "RShoulder", 5: "LShoulder", 9: "RHip", 12: "LHip"}
PARSE_RADIUS = 10
VITONHD_RADIUS = 20


@dataclass(frozen=True)
class Agnostic:
    """A recipe's outputs: ``image`` uint8 HxWx3 RGB (gray over the mask), ``mask`` uint8 HxW
    (255 = painted, to be inpainted; 0 = kept) and, for the VITON-HD recipes, ``parse`` uint8 HxW
    CIHP labels (image-parse-agnostic-v3.2)."""

    image: np.ndarray
    mask: np.ndarray
    parse: np.ndarray | None = None


def _missing(point: np.ndarray) -> bool:
    return point[0] == 0.0 and point[1] == 0.0


def _pose(pose: np.ndarray, required: dict[int, str]) -> np.ndarray:
    """A float64 (K, 2) copy of BODY_25 keypoints; RowError for a missing required joint."""
    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim != 2 or pose.shape[0] < 13 or pose.shape[1] not in (2, 3):
        raise ValueError(f"expected BODY_25 keypoints as a (25, 2) or (25, 3) array, got shape {pose.shape}")
    pose = pose[:, :2].copy()
    if not np.isfinite(pose[:13]).all():
        raise RowError("pose_invalid", "keypoints 0-12 hold NaN or infinite coordinates")
    missing = [name for i, name in required.items() if _missing(pose[i])]
    if missing:
        raise RowError("pose_missing_joint", f"the agnostic recipe needs {', '.join(missing)}, missing in the pose")
    return pose


def _inputs(person: np.ndarray, cihp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    person, cihp = np.asarray(person), np.asarray(cihp)
    if person.dtype != np.uint8 or person.ndim != 3 or person.shape[2] != 3:
        raise ValueError(f"expected a uint8 HxWx3 RGB person image, got {person.dtype} {person.shape}")
    if cihp.shape != person.shape[:2]:
        raise ValueError(f"parse {cihp.shape} and image {person.shape[:2]} differ in size")
    return person, cihp


def _normalise_hips(pose: np.ndarray) -> None:
    """Move both hips about their midpoint to shoulder width (in place), as both recipes do."""
    shoulders = np.linalg.norm(pose[5] - pose[2])
    hips = np.linalg.norm(pose[12] - pose[9])
    if hips == 0:
        raise RowError("pose_missing_joint", "both hips are at the same point; the hip width is undefined")
    centre = (pose[9] + pose[12]) / 2
    pose[9] = centre + (pose[9] - centre) / hips * shoulders
    pose[12] = centre + (pose[12] - centre) / hips * shoulders


def _point(pose: np.ndarray, i: int) -> tuple:
    return tuple(pose[i])


def _torso(draw: ImageDraw.ImageDraw, pose: np.ndarray, r: int) -> None:
    for i in (9, 12):
        x, y = pose[i]
        draw.ellipse((x - r * 3, y - r * 6, x + r * 3, y + r * 6), 255, 255)
    draw.line([_point(pose, 2), _point(pose, 9)], 255, width=r * 6)
    draw.line([_point(pose, 5), _point(pose, 12)], 255, width=r * 6)
    draw.line([_point(pose, 9), _point(pose, 12)], 255, width=r * 12)
    draw.polygon([_point(pose, i) for i in (2, 5, 12, 9)], 255, 255)


def _arm_segments(draw: ImageDraw.ImageDraw, pose: np.ndarray, r: int) -> None:
    for i in (3, 4, 6, 7):
        if _missing(pose[i - 1]) or _missing(pose[i]):
            continue
        draw.line([_point(pose, i - 1), _point(pose, i)], 255, width=r * 10)
        x, y = pose[i]
        draw.ellipse((x - r * 5, y - r * 5, x + r * 5, y + r * 5), 255, 255)


def _compose(person: np.ndarray, painted: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mask = (painted & ~kept).astype(np.uint8) * 255
    if not mask.any():
        raise RowError("empty_mask", "the agnostic recipe painted no pixel")
    image = person.copy()
    image[mask > 0] = GRAY
    return image, mask


def _restored_arms(cihp: np.ndarray, pose: np.ndarray, r: int) -> np.ndarray:
    """Arm-labelled pixels outside each arm's band (HR-VITON pastes them back)."""
    height, width = cihp.shape
    restored = np.zeros(cihp.shape, bool)
    for label, joints in RESTORE_ARMS:
        band = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(band)
        x, y = pose[joints[0]]
        draw.ellipse((x - r * 5, y - r * 6, x + r * 5, y + r * 6), 255, 255)
        for i in joints[1:]:
            if _missing(pose[i - 1]) or _missing(pose[i]):
                continue
            draw.line([_point(pose, i - 1), _point(pose, i)], 255, width=r * 10)
            x, y = pose[i]
            if i != joints[-1]:
                draw.ellipse((x - r * 5, y - r * 5, x + r * 5, y + r * 5), 255, 255)
        draw.ellipse((x - r * 4, y - r * 4, x + r * 4, y + r * 4), 255, 255)  # at the last joint reached
        restored |= (np.asarray(band) == 0) & (cihp == label)
    return restored


def hrviton_agnostic(person: np.ndarray, cihp: np.ndarray, pose: np.ndarray) -> Agnostic:
    """HR-VITON's agnostic-v3.2, its mask, and the parse agnostic.

    person: uint8 HxWx3 RGB; cihp: HxW CIHP labels (image-parse-v3); pose: BODY_25 (x, y).
    """
    person, cihp = _inputs(person, cihp)
    parse = parse_agnostic(cihp, pose)
    pose = _pose(pose, REQUIRED)
    _normalise_hips(pose)
    r = int(np.linalg.norm(pose[5] - pose[2]) / 16) + 1
    height, width = cihp.shape
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    _torso(draw, pose, r)
    x, y = pose[1]
    draw.rectangle((x - r * 5, y - r * 9, x + r * 5, y), 255, 255)
    draw.line([_point(pose, 2), _point(pose, 5)], 255, width=r * 12)
    for i in (2, 5):
        x, y = pose[i]
        draw.ellipse((x - r * 5, y - r * 6, x + r * 5, y + r * 6), 255, 255)
    _arm_segments(draw, pose, r)
    kept = _restored_arms(cihp, pose, r) | np.isin(cihp, HEAD) | np.isin(cihp, LOWER)
    image, mask = _compose(person, np.asarray(canvas) > 0, kept)
    return Agnostic(image, mask, parse)


def vitonhd_agnostic(person: np.ndarray, cihp: np.ndarray, pose: np.ndarray) -> Agnostic:
    """VITON-HD's original agnostic image (radius 20 at any size), its mask, and the parse agnostic."""
    person, cihp = _inputs(person, cihp)
    parse = parse_agnostic(cihp, pose)
    pose = _pose(pose, REQUIRED)
    _normalise_hips(pose)
    r = VITONHD_RADIUS
    height, width = cihp.shape
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    draw.line([_point(pose, 2), _point(pose, 5)], 255, width=r * 10)
    for i in (2, 5):
        x, y = pose[i]
        draw.ellipse((x - r * 5, y - r * 5, x + r * 5, y + r * 5), 255, 255)
    _arm_segments(draw, pose, r)
    _torso(draw, pose, r)
    x, y = pose[1]
    draw.rectangle((x - r * 7, y - r * 7, x + r * 7, y + r * 7), 255, 255)
    image, mask = _compose(person, np.asarray(canvas) > 0, np.isin(cihp, HEAD) | np.isin(cihp, LOWER))
    return Agnostic(image, mask, parse)


def parse_agnostic(cihp: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """image-parse-agnostic-v3.2: uint8 HxW CIHP labels with the arms inside their drawn bands,
    upper clothes, dress, coat and neck set to 0.

    Each arm's band runs from the opposite shoulder through the arm's shoulder, elbow and wrist
    (100-pixel lines, 150-pixel discs, a 40-pixel disc at the wrist); a segment with a missing
    end is skipped without moving its start, so a missing elbow joins shoulder and wrist.
    """
    cihp = np.asarray(cihp)
    pose = _pose(pose, {})
    height, width = cihp.shape
    r = PARSE_RADIUS
    out = cihp.astype(np.uint8)  # a copy
    for label, joints in PARSE_ARMS:
        band = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(band)
        previous = joints[0]
        for i in joints[1:]:
            if _missing(pose[previous]) or _missing(pose[i]):
                continue
            draw.line([_point(pose, previous), _point(pose, i)], 255, width=r * 10)
            x, y = pose[i]
            radius = r * 4 if i == joints[-1] else r * 15
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), 255, 255)
            previous = i
        out[(np.asarray(band) > 0) & (cihp == label)] = 0
    out[np.isin(cihp, REMOVED_CLOTHES)] = 0
    out[cihp == NECK] = 0
    return out
