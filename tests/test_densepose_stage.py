"""DensePoseStage without Ray: outputs, error rows, annotation reuse; parula rendering."""

import json
import zlib

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from vtonpipe.datasets.images import load_labels, load_rgb
from vtonpipe.errors import ModelFilesError
from vtonpipe.labels.densepose import parula_table, render_parts
from vtonpipe.models.densepose.tiny import build_tiny_ir
from vtonpipe.stages import make_stage as make_stage_for
from vtonpipe.stages.densepose import DensePoseStage

# RGB per part id 1..24 (OpenCV PARULA of uint8(i*255/24)), shared/reference/stableviton-and-preprocessing.md §4.
PARULA = [
    (37, 60, 163), (20, 80, 194), (4, 97, 223), (8, 110, 221), (14, 122, 216), (20, 132, 212),
    (15, 144, 208), (11, 156, 203), (6, 166, 198), (22, 173, 185), (38, 179, 172), (55, 185, 159),
    (86, 187, 144), (114, 189, 130), (145, 191, 116), (170, 189, 105), (192, 188, 96), (216, 186, 86),
    (228, 192, 74), (240, 199, 60), (252, 206, 46), (251, 220, 36), (250, 235, 25), (249, 251, 14),
]


def test_parula_rendering_of_a_known_map():
    parts = np.arange(25, dtype=np.uint8).reshape(5, 5)
    rgb = render_parts(parts)
    assert rgb.shape == (5, 5, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (0, 0, 0)
    assert [tuple(int(c) for c in rgb.reshape(-1, 3)[i]) for i in range(1, 25)] == PARULA
    assert parula_table().shape == (25, 3)
    with pytest.raises(ValueError):
        render_parts(np.full((2, 2), 25, np.uint8))


@pytest.fixture(scope="module")
def ir(tmp_path_factory):
    return build_tiny_ir(tmp_path_factory.mktemp("densepose_stage"), seed=1)


def person_row(tmp_path, stem, ann=None, size=(150, 200)):
    rng = np.random.default_rng(zlib.crc32(stem.encode()))
    w, h = size
    img = np.full((h, w, 3), 210, np.uint8)
    y0, y1, x0, x1 = h // 10, h - h // 20, w // 4, w - w // 4
    img[y0:y1, x0:x1] = rng.integers(0, 150, (y1 - y0, x1 - x0, 3))
    path = tmp_path / f"{stem}.jpg"
    Image.fromarray(img).save(path, quality=95)
    return {"person_id": f"test/{stem}", "dataset": "vitonhd", "group": "test", "stem": stem, "image": str(path),
            "width": size[0], "height": size[1], "cloth_type": "upper", "ann_parse": None,
            "ann_densepose": ann, "ann_agnostic_mask": None, "status": "ok"}


def make_stage(out, ir, **opts):
    opts.setdefault("reuse_annotations", False)
    stage = make_stage_for(DensePoseStage, str(out), densepose_ir=str(ir), threads=1, **opts)
    stage.check()
    stage.setup("CPU")
    return stage


def test_stage_writes_parts_rendering_box_score_and_rle(tmp_path, ir):
    out = tmp_path / "out"
    stage = make_stage(out, ir)
    rows = stage.process_batch([person_row(tmp_path, "00001_00"), person_row(tmp_path, "00002_00", size=(120, 160))])
    assert [r["status"] for r in rows] == ["ok", "ok"], rows
    row = rows[0]
    assert row["parts_path"] == "test/densepose-parts/00001_00.png"
    assert row["densepose_path"] == "test/image-densepose/00001_00.jpg"
    parts = load_labels(out / row["parts_path"])
    assert parts.shape == (200, 150) and parts.max() <= 24 and parts.any()
    rendering = load_rgb(out / row["densepose_path"])
    assert rendering.shape == (200, 150, 3)
    # the JPEG is the parula rendering of the saved parts up to compression noise
    assert np.abs(rendering.astype(int) - render_parts(parts)).mean() < 6
    assert np.median(rendering[parts == 0]) < 10
    x0, y0, x1, y1 = row["box"]
    assert 0 <= x0 < x1 <= 150 and 0 <= y0 < y1 <= 200 and row["score"] > 0.8
    ys, xs = np.nonzero(parts)
    assert xs.min() >= int(x0) and ys.min() >= int(y0) and xs.max() < x1 and ys.max() < y1
    rle = json.loads(row["person_rle"])
    decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    np.testing.assert_array_equal(decoded, (parts > 0).astype(np.uint8))
    assert stage.to_table(rows).num_rows == 2 and row["model_id"].startswith("densepose/tiny@fp32")


def test_no_person_gives_an_error_row_and_no_files(tmp_path, ir):
    out = tmp_path / "out"
    stage = make_stage(out, ir, score_threshold=1.0)  # scores are probabilities: none is > 1
    (row,) = stage.process_batch([person_row(tmp_path, "00003_00")])
    assert row["status"] == "error" and row["error_type"] == "no_person"
    assert "no person detected" in row["error_message"]
    assert not (out / "test").exists()


def test_unreadable_image_is_an_error_row(tmp_path, ir):
    stage = make_stage(tmp_path / "out", ir)
    bad = person_row(tmp_path, "00004_00")
    open(bad["image"], "wb").write(b"not an image")
    (row,) = stage.process_batch([bad])
    assert row["status"] == "error" and row["error_type"] == "unreadable_image"


def test_reuses_dresscode_part_labels_when_asked(tmp_path, ir):
    labels = np.zeros((100, 75), np.uint8)
    labels[10:90, 20:50] = 2
    labels[40:60, 25:30] = 24
    ann = tmp_path / "013563_0_5.png"
    Image.fromarray(labels).save(ann)
    row = person_row(tmp_path, "013563_0", ann=str(ann), size=(75, 100))
    row.update(dataset="dresscode", group="upper_body")
    out = tmp_path / "out"
    (res,) = make_stage(out, ir, reuse_annotations=True).process_batch([row])
    assert res["status"] == "ok" and res["score"] is None and res["box"] == [20.0, 10.0, 50.0, 90.0]
    np.testing.assert_array_equal(load_labels(out / res["parts_path"]), labels)
    (res,) = make_stage(tmp_path / "out2", ir).process_batch([row])  # option off: the model runs
    assert res["status"] == "ok" and res["score"] > 0.8


def test_check_fails_fast_with_the_build_command(tmp_path):
    stage = make_stage_for(DensePoseStage, str(tmp_path), models_dir=str(tmp_path / "models"))
    with pytest.raises(ModelFilesError, match="vtonpipe models convert densepose"):
        stage.check()


def test_image_that_does_not_fit_the_canvas_is_an_error_row(tmp_path, ir):
    stage = make_stage(tmp_path / "out", ir, pad_mode="canvas")
    stage.runtime.canvas = (64, 64)  # as if exported with --canvas 64x64: a 96-pixel short side cannot fit
    (row,) = stage.process_batch([person_row(tmp_path, "00005_00")])
    assert row["status"] == "error" and row["error_type"] == "canvas_too_small"
    assert "--canvas" in row["error_message"]
