"""The parse stage without Ray: fail-fast checks, palette PNG outputs, error rows, annotation reuse."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vtonpipe.datasets.images import load_bgr, load_labels
from vtonpipe.errors import ModelFilesError
from vtonpipe.labels.parsing import palette
from vtonpipe.models.schp.runtime import SCHPRuntime
from vtonpipe.models.schp.tiny import build_tiny_ir
from vtonpipe.stages import make_stage
from vtonpipe.stages.parse import ParseStage

# torch.export inside ov.convert_model trips a torch-internal pytree deprecation.
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """<models>/schp-lip and <models>/schp-atr, the stage's default IR folders."""
    root = tmp_path_factory.mktemp("schp-models")
    for dataset in ("lip", "atr"):
        build_tiny_ir(root / f"schp-{dataset}", seed=1, dataset=dataset)
    return root


def _person(tmp_path, stem, *, dataset="vitonhd", group="test", size=(96, 72), ann_parse=None, seed=0):
    image = tmp_path / "src" / f"{stem}.jpg"
    image.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    rgb = np.stack([xx * 3 % 256, yy * 2 % 256, rng.integers(0, 256, size)], axis=2).astype(np.uint8)
    Image.fromarray(rgb).save(image, quality=95)
    return {
        "person_id": f"{group}/{stem}", "dataset": dataset, "group": group, "stem": stem, "image": str(image),
        "width": size[1], "height": size[0], "cloth_type": "upper", "ann_parse": ann_parse,
        "ann_densepose": None, "ann_agnostic_mask": None, "status": "ok",
    }


def _stage(out_dir, models_dir, **options):
    options.setdefault("reuse_annotations", False)
    stage = make_stage(ParseStage, str(out_dir), models_dir=str(models_dir), threads=1, **options)
    stage.check()
    stage.setup("CPU")
    return stage


def test_check_fails_fast_with_the_command_to_run(tmp_path, models_dir):
    stage = make_stage(ParseStage, str(tmp_path), models_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ModelFilesError, match="vtonpipe models convert schp"):
        stage.check()
    swapped = make_stage(ParseStage, str(tmp_path), models_dir=str(models_dir), atr_ir=str(models_dir / "schp-lip"))
    with pytest.raises(ModelFilesError, match="'lip' model where 'atr' is expected"):
        swapped.check()


def test_rows_get_palette_label_maps_and_a_corrupt_image_an_error_row(tmp_path, models_dir):
    out = tmp_path / "out"
    good = _person(tmp_path, "00001_00")
    wide = _person(tmp_path, "00002_00", size=(50, 81), seed=1)
    corrupt = _person(tmp_path, "00003_00")
    with open(corrupt["image"], "r+b") as f:  # keep the JPEG header, ruin the rest
        f.seek(200)
        f.write(b"\x00" * 400)
        f.truncate(700)

    stage = _stage(out, models_dir)
    rows = stage.process_batch([good, corrupt, wide])
    assert [r["person_id"] for r in rows] == ["test/00001_00", "test/00003_00", "test/00002_00"]
    ok, bad, ok2 = rows
    assert bad["status"] == "error" and bad["error_type"] == "unreadable_image"
    assert "lip_path" not in bad and not (out / "test" / "image-parse-lip" / "00003_00.png").exists()

    lip_rt = SCHPRuntime(models_dir / "schp-lip", threads=1)
    for row, person in ((ok, good), (ok2, wide)):
        assert row["status"] == "ok" and row["reused"] is False
        assert row["model_id"].startswith("schp/tiny-lip@fp32-") and "+schp/tiny-atr@fp32-" in row["model_id"]
        assert row["lip_path"] == f"test/image-parse-lip/{person['stem']}.png"
        assert row["atr_path"] == f"test/image-parse-atr/{person['stem']}.png"
        lip_png = Image.open(out / row["lip_path"])
        atr_png = Image.open(out / row["atr_path"])
        assert lip_png.mode == atr_png.mode == "P"
        assert lip_png.size == atr_png.size == (person["width"], person["height"])
        assert lip_png.getpalette()[: 20 * 3] == palette(20)
        assert np.array_equal(load_labels(out / row["lip_path"]), lip_rt(load_bgr(person["image"])))
        assert load_labels(out / row["atr_path"]).max() < 18

    table = stage.to_table(rows)
    assert table.num_rows == 3 and table.schema.field("reused").type.id == ParseStage.schema().field("reused").type.id


def test_dresscode_label_maps_are_reused_as_atr(tmp_path, models_dir):
    ann = tmp_path / "src" / "label_maps" / "048392_4.png"
    ann.parent.mkdir(parents=True)
    shipped = np.zeros((48, 36), dtype=np.uint8)
    shipped[10:40, 8:28] = 4  # upper-clothes
    shipped[2:10, 12:24] = 11  # face
    img = Image.frombytes("P", (36, 48), shipped.tobytes())
    img.putpalette(palette(18))
    img.save(ann)
    dress = _person(tmp_path, "048392_0", dataset="dresscode", group="upper_body", ann_parse=str(ann))
    viton = _person(tmp_path, "00005_00", ann_parse=str(ann))  # CIHP labels: never reused

    reuse = _stage(tmp_path / "a", models_dir, reuse_annotations=True)
    d, v = reuse.process_batch([dress, viton])
    assert d["status"] == v["status"] == "ok"
    assert d["reused"] is True and v["reused"] is False
    atr = load_labels(tmp_path / "a" / d["atr_path"])
    assert atr.shape == (96, 72)  # resized (nearest) to the person image
    assert np.array_equal(atr, np.kron(shipped, np.ones((2, 2), dtype=np.uint8)))
    assert (tmp_path / "a" / d["lip_path"]).is_file()  # LIP still runs

    fresh = _stage(tmp_path / "b", models_dir, reuse_annotations=False)
    (d2,) = fresh.process_batch([dress])
    assert d2["reused"] is False
    atr_rt = SCHPRuntime(models_dir / "schp-atr", threads=1)
    assert np.array_equal(load_labels(tmp_path / "b" / d2["atr_path"]), atr_rt(load_bgr(dress["image"])))


def test_a_shipped_map_with_foreign_labels_is_an_error_row(tmp_path, models_dir):
    ann = tmp_path / "bad_4.png"
    Image.fromarray(np.full((96, 72), 19, dtype=np.uint8), mode="L").save(ann)
    dress = _person(tmp_path, "000001_0", dataset="dresscode", group="dresses", ann_parse=str(ann))
    (row,) = _stage(tmp_path / "out", models_dir, reuse_annotations=True).process_batch([dress])
    assert row["status"] == "error" and row["error_type"] == "bad_annotation"
    assert "19" in row["error_message"]


def test_stage_and_runtime_import_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, vtonpipe.stages.parse, vtonpipe.models.schp.runtime; "
        "sys.exit(int(any(m == 'torch' or m.startswith('torch.') for m in sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
