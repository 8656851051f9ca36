"""Image probing: bombs, empty, truncated and corrupt files are reported, never raised raw."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vtonpipe.datasets.images import load_bgr, load_labels, probe_image
from vtonpipe.errors import RowError


def test_probe_and_channel_order(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.array([[[255, 0, 0]]], np.uint8)).save(path)
    info = probe_image(path)
    assert (info.width, info.height, info.mode, info.format) == (1, 1, "RGB", "PNG")
    assert load_bgr(path)[0, 0].tolist() == [0, 0, 255]


def test_palette_labels_keep_class_ids(tmp_path):
    path = tmp_path / "p.png"
    img = Image.frombytes("P", (3, 1), bytes([0, 7, 19]))
    img.putpalette([0, 0, 0] * 256)  # every id looks black: the ids must still come back
    img.save(path)
    assert load_labels(path).tolist() == [[0, 7, 19]]


@pytest.mark.parametrize("content,error_type", [
    (b"", "unreadable_image"),
    (b"GIF89a" + b"\x00" * 20, "unreadable_image"),
])
def test_bad_bytes(tmp_path, content, error_type):
    path = tmp_path / "x.gif"
    path.write_bytes(content)
    with pytest.raises(RowError) as exc:
        probe_image(path)
    assert exc.value.error_type == error_type


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (400, 300)).save(path)
    with pytest.raises(RowError) as exc:
        probe_image(path, max_pixels=100_000)
    assert exc.value.error_type == "image_too_large" and "400x300" in exc.value.message


def test_missing_file(tmp_path):
    with pytest.raises(RowError) as exc:
        probe_image(tmp_path / "nope.jpg")
    assert exc.value.error_type == "missing_file"
