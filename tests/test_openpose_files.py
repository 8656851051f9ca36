"""OpenPose JSON (BODY_25 / COCO-18, version 1.3) read back the way the VITON-HD and HR-VITON
loaders read it, and the OpenPose-style rendering."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vtonpipe.datasets.openpose import (
    read_people,
    read_pose,
    render_openpose,
    to_body25,
    write_openpose_json,
)
from vtonpipe.errors import RowError
from vtonpipe.labels.pose import BODY25, BODY25_COLOURS, COCO18, COCO18_COLOURS, COCO18_TO_BODY25


def _person(x0: float = 300.0, y0: float = 100.0, scale: float = 1.0, missing=("LWrist",)) -> np.ndarray:
    """A COCO-18 (18, 3) standing person; `missing` joints 0, 0, 0."""
    rng = np.random.default_rng(int(x0))
    points = {
        "Nose": (0, 0), "Neck": (0, 80), "RShoulder": (-100, 85), "RElbow": (-120, 250), "RWrist": (-130, 400),
        "LShoulder": (100, 85), "LElbow": (120, 250), "LWrist": (130, 400), "RHip": (-60, 420),
        "RKnee": (-62, 620), "RAnkle": (-64, 820), "LHip": (60, 420), "LKnee": (62, 620), "LAnkle": (64, 820),
        "REye": (-20, -20), "LEye": (20, -20), "REar": (-45, -10), "LEar": (45, -10),
    }  # fmt: skip
    keypoints = np.zeros((18, 3))
    for name, (dx, dy) in points.items():
        if name not in missing:
            keypoints[COCO18[name]] = (x0 + dx * scale + 0.25, y0 + dy * scale + 0.6, rng.uniform(0.3, 0.95))
    return keypoints


def viton_loader(path) -> np.ndarray:
    """VITON-HD datasets.py / HR-VITON cp_dataset.py: json.load, people[0], reshape(-1, 3)[:, :2]."""
    with open(path) as f:
        pose_label = json.load(f)
    return np.array(pose_label["people"][0]["pose_keypoints_2d"]).reshape((-1, 3))[:, :2]


def test_body25_json_reads_back_like_the_loaders(tmp_path):
    first, second = _person(), _person(600.0, 150.0, 0.5, missing=())
    path = write_openpose_json(tmp_path / "00001_00_keypoints.json", [first, second])
    doc = json.loads(path.read_text())
    assert doc["version"] == 1.3 and len(doc["people"]) == 2
    entry = doc["people"][0]
    assert entry["person_id"] == [-1] and len(entry["pose_keypoints_2d"]) == 75
    assert entry["face_keypoints_2d"] == [] and entry["hand_right_keypoints_3d"] == []
    pose = viton_loader(path)
    assert pose.shape == (25, 2)
    np.testing.assert_allclose(pose[list(COCO18_TO_BODY25)], first[:, :2], atol=1e-3)
    np.testing.assert_allclose(pose[BODY25["MidHip"]], (first[8, :2] + first[11, :2]) / 2, atol=1e-3)
    assert not pose[19:].any() and not pose[BODY25["LWrist"]].any()
    assert np.array_equal(read_pose(path), pose)
    people = read_people(path)
    np.testing.assert_allclose(people[1], to_body25(second), atol=1e-3)


def test_coco18_json_and_midhip_needs_both_hips(tmp_path):
    one_hip = _person(missing=("LHip",))
    assert not to_body25(one_hip)[BODY25["MidHip"]].any()
    path = write_openpose_json(tmp_path / "a_keypoints.json", [one_hip], layout="coco18")
    assert len(json.loads(path.read_text())["people"][0]["pose_keypoints_2d"]) == 54
    np.testing.assert_allclose(read_pose(path), one_hip[:, :2], atol=1e-3)
    with pytest.raises(ValueError, match="layout"):
        write_openpose_json(tmp_path / "b.json", [one_hip], layout="body21")
    with pytest.raises(ValueError, match=r"\(18, 3\)"):
        to_body25(np.zeros((25, 3)))


def test_no_person_is_a_row_error(tmp_path):
    path = write_openpose_json(tmp_path / "empty_keypoints.json", [])
    assert read_people(path) == []
    with pytest.raises(RowError) as err:
        read_pose(path)
    assert err.value.error_type == "no_person"


@pytest.mark.parametrize("layout", ["body25", "coco18"])
def test_render_like_openpose(layout):
    height, width = 1024, 768
    person = _person(384.0, 80.0)
    image = render_openpose([person], height, width, layout)
    assert image.shape == (height, width, 3) and image.dtype == np.uint8
    colours = BODY25_COLOURS if layout == "body25" else COCO18_COLOURS
    points = to_body25(person) if layout == "body25" else person
    for part in range(len(points)):
        if points[part, 2] > 0.05:
            x, y = (int(v + 0.5) for v in points[part, :2])
            assert tuple(image[y, x]) == colours[part], part
    assert not image[:, :40].any() and not image[-40:].any()  # black away from the skeleton
    # Thickness: box 260x900 of 1024x768 -> ratio 0.88, t = round(sqrt(1024*768)/75*0.88) = 10, lines 8.
    ratio = 900.0 / height
    t = max(int(math.sqrt(height * width) / 75 * ratio + 0.5), 2)
    knee_to_ankle = image[720, int(384 - 63 + 0.5) - 20:int(384 - 63 + 0.5) + 20]
    assert abs(int((knee_to_ankle.any(axis=1)).sum()) - int(0.75 * t + 0.5)) <= 1
    assert not render_openpose([np.zeros((18, 3))], height, width, layout).any()
