"""COCO RLE JSON strings round-trip masks of any shape."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from vtonpipe.masks.rle import decode_rle, encode_rle


@pytest.mark.parametrize("shape", [(1, 1), (37, 53), (256, 192), (203, 154)])
def test_round_trip(shape):
    rng = np.random.default_rng(shape[0])
    mask = (rng.random(shape) > 0.6).astype(np.uint8) * 255
    text = encode_rle(mask)
    assert json.loads(text)["size"] == list(shape)
    decoded = decode_rle(text)
    assert decoded.dtype == bool and decoded.shape == shape
    assert np.array_equal(decoded, mask > 0)


def test_empty_and_full_masks():
    for mask in (np.zeros((12, 9), bool), np.ones((12, 9), bool)):
        assert np.array_equal(decode_rle(encode_rle(mask)), mask)


def test_string_is_standard_coco_rle():
    mask = np.zeros((20, 30), np.uint8)
    mask[4:9, 10:25] = 1
    rle = json.loads(encode_rle(mask))
    assert coco_mask.area({"size": rle["size"], "counts": rle["counts"].encode()}) == 75


def test_rejects_non_2d():
    with pytest.raises(ValueError):
        encode_rle(np.zeros((4, 4, 3), np.uint8))
