"""Cloth masks on synthetic product shots (known masks), unseparable garments, and the stage."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vtonpipe.atomic import atomic_save_image
from vtonpipe.datasets.images import load_labels
from vtonpipe.datasets.synthetic import OFF_WHITE, WHITE, GarmentStyle, draw_garment
from vtonpipe.masks.cloth import NoGarmentError, cloth_mask, fill_holes
from vtonpipe.masks.rle import decode_rle
from vtonpipe.stages import make_stage
from vtonpipe.stages.cloth_mask import ClothMaskStage


def _jpeg(image: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=95)
    return np.asarray(Image.open(buf).convert("RGB"))


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("background", [WHITE, OFF_WHITE], ids=["white", "246"])
def test_iou_against_ground_truth(background):
    ious = []
    for i in range(8):
        garment = draw_garment(np.random.default_rng([11, i]), 256, 192, background=background)
        ious.append(_iou(cloth_mask(_jpeg(garment.image)), garment.mask))
    assert min(ious) >= 0.95, ious


def test_grabcut_refinement_keeps_iou():
    garment = draw_garment(np.random.default_rng([12, 0]), 256, 192, background=OFF_WHITE)
    assert _iou(cloth_mask(_jpeg(garment.image), grabcut=True), garment.mask) >= 0.95


def test_background_coloured_print_is_filled():
    garment = draw_garment(np.random.default_rng([13, 0]), 256, 192, background=WHITE)
    image = garment.image.copy()
    image[120:140, 90:105] = 255  # a white logo inside the garment
    assert _iou(cloth_mask(image), garment.mask) >= 0.98


def test_white_on_white_is_an_error():
    style = GarmentStyle("short", (255, 255, 255), "solid", (255, 255, 255))
    garment = draw_garment(np.random.default_rng(0), 256, 192, background=WHITE, style=style)
    with pytest.raises(NoGarmentError, match="no garment"):
        cloth_mask(_jpeg(garment.image))


def test_busy_background_is_an_error():
    image = np.random.default_rng(1).integers(0, 256, (128, 96, 3), dtype=np.uint8)
    with pytest.raises(NoGarmentError, match="not a plain background"):
        cloth_mask(image)


def test_fill_holes_fills_only_enclosed_regions():
    mask = np.zeros((20, 20), bool)
    mask[2:12, 2:12] = True
    mask[5:8, 5:8] = False  # enclosed hole
    mask[2:5, 15:18] = True
    filled = fill_holes(mask)
    assert filled[5:8, 5:8].all() and filled.sum() == 100 + 9
    assert not filled[15:, :].any()


def test_stage_writes_vitonhd_cloth_mask_and_error_rows(tmp_path):
    ok = draw_garment(np.random.default_rng([14, 0]), 203, 154, background=OFF_WHITE)
    white = np.full((203, 154, 3), 255, np.uint8)
    atomic_save_image(tmp_path / "g" / "a.jpg", ok.image)
    atomic_save_image(tmp_path / "g" / "b.jpg", white)
    rows = [
        dict(garment_id=f"test/{s}", dataset="vitonhd", group="test", stem=s,
             image=str(tmp_path / "g" / f"{s}.jpg"), width=154, height=203, category="upper", status="ok")
        for s in ("a", "b", "missing")
    ]  # fmt: skip
    stage = make_stage(ClothMaskStage, str(tmp_path / "out"), grabcut=False)
    assert (stage.name, stage.input, stage.key) == ("cloth-mask", "garments", "garment_id")
    assert stage.resources.device_class is None
    stage.setup("CPU")
    res = stage.process_batch(rows)
    assert res[0]["status"] == "ok" and res[0]["cloth_mask_path"] == "test/cloth-mask/a.jpg"
    written = load_labels(tmp_path / "out" / res[0]["cloth_mask_path"]) >= 128
    assert _iou(written, decode_rle(res[0]["mask_rle"])) > 0.99
    assert _iou(written, ok.mask) >= 0.95
    assert (res[1]["status"], res[1]["error_type"]) == ("error", "no_garment")
    assert not (tmp_path / "out" / "test" / "cloth-mask" / "b.jpg").exists()
    assert (res[2]["status"], res[2]["error_type"]) == ("error", "missing_file")
    assert stage.to_table(res).num_rows == 3
