"""What the upstream dataset classes open for every item of a dataset folder, rewritten from the
paths they build (pairs-file format, folder names, suffix rules), to check an exported folder.

- StableVITON ``VITONHDDataset`` (test): ``<root>/test_pairs.txt`` split on whitespace and sorted;
  cv2 reads ``test/agnostic-v3.2/<p>``, ``test/agnostic-mask/<p with .jpg -> _mask.png>``,
  ``test/cloth/<c>``, ``test/cloth-mask/<c>``, ``test/image/<p>``, ``test/image-densepose/<p>``;
  paired mode uses c = p.
- CatVTON ``VITONHDTestDataset``: ``<root>/test_pairs_unpaired.txt`` split on one space; PIL opens
  ``test/image/<p>``, ``test/cloth/<c>`` (c = p when paired), ``test/agnostic-mask/<p .jpg -> _mask.png>``.
- CatVTON ``DressCodeTestDataset``: asserts ``upper_body``, ``lower_body``, ``dresses`` and each one's
  ``test_pairs_{paired|unpaired}.txt`` exist; PIL opens ``<cat>/images/<p>``, ``<cat>/images/<c>``,
  ``<cat>/agnostic_masks/<p .jpg -> .png>``.
- HR-VITON ``CPDatasetTest``: ``<root>/test_pairs.txt`` split on whitespace; for both c = p and the
  listed c: ``test/cloth/<c>``, ``test/cloth-mask/<c>``; then ``test/image/<p>``,
  ``test/image-parse-v3/<p .png>``, ``test/image-parse-agnostic-v3.2/<p .png>``,
  ``test/openpose_img/<p _rendered.png>``, ``test/openpose_json/<p _keypoints.json>`` (people[0]
  pose_keypoints_2d as (x, y, score) triples), ``test/image-densepose/<p>``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

DRESSCODE_CATEGORIES = ("upper_body", "lower_body", "dresses")


def _pil(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def _cv2(path: Path) -> np.ndarray:
    img = cv2.imread(str(path))
    assert img is not None, f"cv2 cannot read {path}"
    return img


def _lines(path: Path, sep: str | None) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text().splitlines():
        person, cloth = line.strip().split(sep)
        rows.append((person, cloth))
    return rows


def stableviton(root: Path, paired: bool) -> list[dict[str, np.ndarray]]:
    d = root / "test"
    items = []
    for person, cloth in sorted(_lines(root / "test_pairs.txt", None)):
        cloth = person if paired else cloth
        items.append({
            "agn": _cv2(d / "agnostic-v3.2" / person),
            "agn_mask": _cv2(d / "agnostic-mask" / person.replace(".jpg", "_mask.png")),
            "cloth": _cv2(d / "cloth" / cloth),
            "cloth_mask": _cv2(d / "cloth-mask" / cloth),
            "image": _cv2(d / "image" / person),
            "image_densepose": _cv2(d / "image-densepose" / person),
        })
    return items


def catvton_vitonhd(root: Path, paired: bool) -> list[dict[str, np.ndarray]]:
    pairs_file = root / "test_pairs_unpaired.txt"
    assert pairs_file.exists(), f"{pairs_file} does not exist"
    d = root / "test"
    return [{
        "person": _pil(d / "image" / person),
        "cloth": _pil(d / "cloth" / (person if paired else cloth)),
        "mask": _pil(d / "agnostic-mask" / person.replace(".jpg", "_mask.png")),
    } for person, cloth in _lines(pairs_file, " ")]


def catvton_dresscode(root: Path, paired: bool) -> list[dict[str, np.ndarray]]:
    items = []
    for category in DRESSCODE_CATEGORIES:
        assert os.path.exists(root / category), f"folder {category} does not exist"
        pairs_file = root / category / ("test_pairs_paired.txt" if paired else "test_pairs_unpaired.txt")
        assert pairs_file.exists(), f"{pairs_file} does not exist"
        for person, cloth in _lines(pairs_file, " "):
            items.append({
                "person": _pil(root / category / "images" / person),
                "cloth": _pil(root / category / "images" / cloth),
                "mask": _pil(root / category / "agnostic_masks" / person.replace(".jpg", ".png")),
            })
    return items


def hrviton(root: Path) -> list[dict[str, np.ndarray]]:
    d = root / "test"
    items = []
    for person, cloth in _lines(root / "test_pairs.txt", None):
        item = {}
        for key, c in (("paired", person), ("unpaired", cloth)):
            item[f"cloth_{key}"] = _pil(d / "cloth" / c)
            item[f"cloth_mask_{key}"] = _pil(d / "cloth-mask" / c)
        parse_name = person.replace(".jpg", ".png")
        item["image"] = _pil(d / "image" / person)
        item["parse"] = _pil(d / "image-parse-v3" / parse_name)
        item["parse_agnostic"] = _pil(d / "image-parse-agnostic-v3.2" / parse_name)
        item["pose_map"] = _pil(d / "openpose_img" / person.replace(".jpg", "_rendered.png"))
        with open(d / "openpose_json" / person.replace(".jpg", "_keypoints.json")) as f:
            item["pose"] = np.array(json.load(f)["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)[:, :2]
        item["densepose"] = _pil(d / "image-densepose" / person.replace("image", "image-densepose"))
        items.append(item)
    return items
