"""OpenPose output files as VITON-HD ships them: ``openpose_json/<id>_keypoints.json`` and
``openpose_img/<id>_rendered.png``.

A person is a COCO-18 (18, 3) array [x, y, score] in image pixels, missing joints 0, 0, 0 (what
``Person.keypoints()`` of the OpenPose runtime returns).

JSON: OpenPose's ``--write_json`` format, version 1.3. ``pose_keypoints_2d`` holds 25 triples in
BODY_25 order (what the VITON-HD / HR-VITON loaders index: 1-7 neck and arms, 9/12 hips) or
the 18 COCO triples. BODY_25's MidHip is the mean of both hips (score: their mean) when both
are found, else 0, 0, 0; the six foot points are 0, 0, 0. Face and hand lists are empty.

Rendering: OpenPose's CPU renderer on black (``--disable_blending``): per person whose joints
above 0.1 span a box of positive area, a size-dependent thickness; lines between render pairs
whose joints both score above 0.05, in the colour of the pair's second joint; then a circle per
joint above 0.05 (OpenCV, 8-connected, no anti-aliasing).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.errors import RowError
from vtonpipe.labels.pose import BODY25_MIDHIP, COCO18_TO_BODY25, HIPS_COCO18, LAYOUTS

JSON_VERSION = 1.3
RENDER_THRESHOLD = 0.05  # --render_threshold default
BOX_THRESHOLD = 0.1  # joints that size a person's box
CIRCLE_RATIO = np.float32(1.0 / 75.0)
LINE_RATIO = np.float32(0.75)
_EMPTY_LISTS = ("face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d",
                "pose_keypoints_3d", "face_keypoints_3d", "hand_left_keypoints_3d", "hand_right_keypoints_3d")


def _coco18(keypoints: np.ndarray) -> np.ndarray:
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (18, 3):
        raise ValueError(f"a person is an (18, 3) COCO-18 array [x, y, score], got shape {keypoints.shape}")
    return keypoints


def to_body25(keypoints: np.ndarray) -> np.ndarray:
    """(18, 3) COCO-18 -> (25, 3) BODY_25; MidHip from both hips, feet 0, 0, 0."""
    coco = _coco18(keypoints)
    body = np.zeros((25, 3))
    body[list(COCO18_TO_BODY25)] = coco
    right, left = coco[list(HIPS_COCO18)]
    if right[2] > 0 and left[2] > 0:
        body[BODY25_MIDHIP] = (right + left) / 2
    return body


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {layout!r}")


def _layout(keypoints: np.ndarray, layout: str) -> np.ndarray:
    _check_layout(layout)
    return to_body25(keypoints) if layout == "body25" else _coco18(keypoints)


def openpose_document(people: Sequence[np.ndarray], layout: str = "body25") -> dict:
    """The JSON document (a dict) for `people`, in order (readers take people[0])."""
    entries = []
    for keypoints in people:
        values = [float(format(v, ".6g")) for v in _layout(keypoints, layout).ravel()]
        entries.append({"person_id": [-1], "pose_keypoints_2d": values, **{k: [] for k in _EMPTY_LISTS}})
    return {"version": JSON_VERSION, "people": entries}


def write_openpose_json(path: str | os.PathLike, people: Sequence[np.ndarray], layout: str = "body25") -> Path:
    """Write ``<id>_keypoints.json`` atomically; returns its path."""
    atomic_write_bytes(path, json.dumps(openpose_document(people, layout)).encode())
    return Path(path)


def read_people(source: str | os.PathLike | dict) -> list[np.ndarray]:
    """Every person of a JSON file (or loaded document) as a (K, 3) [x, y, score] array."""
    doc = source if isinstance(source, dict) else json.loads(Path(source).read_text())
    try:
        return [np.asarray(p["pose_keypoints_2d"], dtype=np.float64).reshape(-1, 3) for p in doc["people"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an OpenPose keypoints document: {exc}") from None


def read_pose(source: str | os.PathLike | dict) -> np.ndarray:
    """(K, 2) x, y of the first person, as the VITON-HD and HR-VITON loaders read it.

    Raises RowError("no_person") when the file lists nobody (the loaders raise IndexError).
    """
    people = read_people(source)
    if not people:
        raise RowError("no_person", f"{source if not isinstance(source, dict) else 'the document'} lists no person")
    return people[0][:, :2].copy()


def _round(value: float) -> int:
    """OpenPose's positiveIntRound on float32 values: truncation of value + 0.5."""
    return int(np.float32(value) + np.float32(0.5))


def render_openpose(people: Sequence[np.ndarray], height: int, width: int, layout: str = "body25") -> np.ndarray:
    """uint8 HxWx3 RGB skeletons on black, drawn like OpenPose's CPU renderer."""
    _check_layout(layout)
    _, pairs, colours = LAYOUTS[layout]
    canvas = np.zeros((height, width, 3), np.uint8)
    for keypoints in people:
        points = _layout(keypoints, layout)
        boxed = points[points[:, 2] > BOX_THRESHOLD].astype(np.float32)  # OpenPose keeps float32
        if len(boxed) == 0:
            continue
        box_w, box_h = np.ptp(boxed[:, 0]), np.ptp(boxed[:, 1])
        if box_w * box_h <= 0:
            continue
        ratio = min(np.float32(1), max(box_w / np.float32(width), box_h / np.float32(height)))
        thickness = max(int(math.sqrt(width * height) * float(CIRCLE_RATIO) * float(ratio) + 0.5), 2)
        circle = max(1, thickness if ratio > np.float32(0.05) else -1)
        line = max(1, _round(thickness * LINE_RATIO))
        centres = [(_round(x), _round(y)) for x, y in points[:, :2]]
        visible = points[:, 2] > RENDER_THRESHOLD
        for a, b in pairs:
            if visible[a] and visible[b]:
                cv2.line(canvas, centres[a], centres[b], colours[b], line, cv2.LINE_8)
        for part in np.flatnonzero(visible):
            cv2.circle(canvas, centres[part], thickness // 2, colours[part], circle, cv2.LINE_8)
    return canvas
