"""Masks as COCO run-length encodings in JSON strings, so a manifest row carries its mask."""

from __future__ import annotations

import json

import numpy as np
from pycocotools import mask as coco_mask


def encode_rle(mask: np.ndarray) -> str:
    """JSON string ``{"size": [H, W], "counts": "..."}`` of the pixels where mask > 0."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    rle = coco_mask.encode(np.asfortranarray(mask > 0, dtype=np.uint8))
    return json.dumps({"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")})


def decode_rle(text: str) -> np.ndarray:
    """Boolean HxW mask from a string written by `encode_rle`."""
    rle = json.loads(text)
    return coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode("ascii")}).astype(bool)
