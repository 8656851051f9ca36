"""The demo-style inpainting mask of OOTDiffusion, the StableVITON Space and IDM-VTON
(``get_mask_location``) and its gray-127 agnostic image.

Inputs: an SCHP-ATR parse with the neck as label 18 (``masks.annotations.atr_with_neck``) at the
working size, and COCO-18 keypoints (x, y) in the same pixels, missing joints at (0, 0).
Per category: the garment labels (dilated five times), plus for upper_body / dresses the dilated
neck and arm bands (shoulder-elbow-wrist polyline, the wrist pushed 1.2x away from the elbow,
width 60 ('hd') or 45 ('dc') per 512 pixels of height, a disc at the shoulder); hands (arm pixels
outside the bands), head, shoes, hat, sunglasses, bag and the other garments are kept; holes not
connected to the border are filled and only the largest component is kept.

Two guards where the reference draws garbage: band coordinates are truncated to int instead of
being cast to uint16 (a negative extended wrist wrapped to ~65 500 and shot the band to the image
edge), and an arm whose shoulder or elbow is missing takes its parse label as the band, as the
reference does for a missing wrist (it drew the band through the image corner). A mask with no
pixel raises RowError("empty_mask").
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from vtonpipe.errors import RowError
from vtonpipe.masks.annotations import NECK_LABEL
from vtonpipe.masks.vitonhd import Agnostic

GRAY = 127
CATEGORIES = ("upper_body", "lower_body", "dresses")
ARM_WIDTH = {"hd": 60, "dc": 45}  # pixels per 512 of height
HEAD = (1, 3, 11)  # hat, sunglasses, face
FIXED = (9, 10, 1, 3, 16)  # shoes, hat, sunglasses, bag
MASKED = {"upper_body": (4, 7), "lower_body": (6, 12, 13, 5), "dresses": (7, 4, 5, 6)}
ALSO_FIXED = {"upper_body": (5, 6), "lower_body": (4, 14, 15), "dresses": ()}
LEFT_ARM, RIGHT_ARM = 14, 15
# COCO-18 (shoulder, elbow, wrist) per side; the left arm's polyline is drawn wrist first.
RIGHT_JOINTS, LEFT_JOINTS = (2, 3, 4), (5, 6, 7)
WRIST_EXTENSION = 1.2


def _absent(point: np.ndarray) -> bool:
    """The demos' test for a missing joint: both coordinates at most 1."""
    return point[0] <= 1.0 and point[1] <= 1.0


def _arm_band(parse: np.ndarray, pose: np.ndarray, joints: tuple[int, int, int], label: int,
              width: int, wrist_first: bool) -> np.ndarray:
    """Boolean band of one arm: the drawn polyline and shoulder disc, or the arm's label."""
    shoulder, elbow, wrist = (pose[j] for j in joints)
    if _absent(wrist) or _absent(shoulder) or _absent(elbow):
        return parse == label
    wrist = elbow + WRIST_EXTENSION * (wrist - elbow)
    points = (wrist, elbow, shoulder) if wrist_first else (shoulder, elbow, wrist)
    height, full_width = parse.shape
    band = Image.new("L", (full_width, height))
    draw = ImageDraw.Draw(band)
    draw.line(np.trunc(np.concatenate(points)).astype(np.int64).tolist(), "white", width, "curve")
    half = width // 2
    draw.arc([shoulder[0] - half, shoulder[1] - half, shoulder[0] + half, shoulder[1] + half], 0, 360, "white", half)
    return np.asarray(band) > 0


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """uint8 0/255: holes not connected to the image border filled (the border row/column is cleared)."""
    img = np.pad(mask[1:-1, 1:-1], 1)
    filled = img.copy()
    cv2.floodFill(filled, np.zeros((img.shape[0] + 2, img.shape[1] + 2), np.uint8), (0, 0), 255)
    return cv2.bitwise_or(img, cv2.bitwise_not(filled))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """uint8 0/255: only the contour of largest |area| (RETR_CCOMP, TC89_L1), filled."""
    contours, _ = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_TC89_L1)
    out = np.zeros_like(mask)
    if contours:
        areas = [abs(cv2.contourArea(c, True)) for c in contours]
        cv2.drawContours(out, contours, areas.index(max(areas)), color=255, thickness=-1)
    return out


def ootd_mask(parse: np.ndarray, pose: np.ndarray, category: str = "upper_body", model_type: str = "hd",
              kernel: int = 5) -> np.ndarray:
    """uint8 HxW mask (255 = inpaint) at the parse's size; `kernel` is the dilation size (the
    StableVITON Space's ``radius``, 5 elsewhere)."""
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
    if model_type not in ARM_WIDTH:
        raise ValueError(f"model_type must be one of {sorted(ARM_WIDTH)}, got {model_type!r}")
    parse = np.asarray(parse)
    pose = np.asarray(pose, dtype=np.float64)
    if parse.ndim != 2 or pose.shape[:1] != (18,) or pose.ndim != 2:
        raise ValueError(f"expected an HxW parse and (18, 2) COCO-18 keypoints, got {parse.shape} and {pose.shape}")
    height = parse.shape[0]
    ones = np.ones((kernel, kernel), np.uint16)
    head = np.isin(parse, HEAD)
    fixed = np.isin(parse, FIXED + ALSO_FIXED[category])
    changeable = (parse == 0) | ((parse != 0) & ~fixed)
    garment = cv2.dilate(np.isin(parse, MASKED[category]).astype(np.float32), ones, iterations=5) > 0
    if category != "lower_body":
        width = int(ARM_WIDTH[model_type] / 512 * height)
        right = _arm_band(parse, pose[:, :2], RIGHT_JOINTS, RIGHT_ARM, width, wrist_first=False)
        left = _arm_band(parse, pose[:, :2], LEFT_JOINTS, LEFT_ARM, width, wrist_first=True)
        fixed |= (~left & (parse == LEFT_ARM)) | (~right & (parse == RIGHT_ARM))
        neck = cv2.dilate((parse == NECK_LABEL).astype(np.float32), ones, iterations=1) > 0
        arms = cv2.dilate((left | right).astype(np.float32), ones, iterations=4) > 0
        garment |= (neck & ~head) | arms
    fixed |= head
    inpaint = ~((changeable & ~garment) | fixed)
    mask = _largest_component(_fill_holes(inpaint.astype(np.uint8) * 255))
    if not mask.any():
        raise RowError("empty_mask", f"the {category} mask is empty (no garment labels in the parse)")
    return mask


def ootd_agnostic(person: np.ndarray, parse: np.ndarray, pose: np.ndarray, category: str = "upper_body",
                  model_type: str = "hd", kernel: int = 5) -> Agnostic:
    """The mask and the person with gray 127 on it; a mask of another size than `person` is
    resized to it with NEAREST first (OOTDiffusion parses at 384x512 and composes at 768x1024)."""
    person = np.asarray(person)
    if person.dtype != np.uint8 or person.ndim != 3 or person.shape[2] != 3:
        raise ValueError(f"expected a uint8 HxWx3 RGB person image, got {person.dtype} {person.shape}")
    mask = ootd_mask(parse, pose, category, model_type, kernel)
    if mask.shape != person.shape[:2]:
        mask = np.asarray(Image.fromarray(mask).resize(person.shape[1::-1], Image.NEAREST))
    image = person.copy()
    image[mask > 0] = GRAY
    return Agnostic(image, mask)
