"""The masks stage without Ray: inputs from the densepose/parse folders, outputs and error rows."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vtonpipe.atomic import atomic_save_image
from vtonpipe.datasets.images import load_labels, load_rgb
from vtonpipe.datasets.synthetic import draw_person
from vtonpipe.labels.parsing import palette
from vtonpipe.masks.agnostic import agnostic_mask
from vtonpipe.masks.rle import decode_rle
from vtonpipe.stages import make_stage
from vtonpipe.stages.masks import MasksStage

H, W = 203, 154  # not multiples of 4


def _person_row(root, out, stem, maps=("densepose", "lip", "atr"), cloth_type="upper", seed=0):
    person = draw_person(np.random.default_rng([seed, int(stem)]), H, W)
    image = os.path.join(root, f"{stem}.png")
    atomic_save_image(image, person.image)
    folders = {"densepose": "densepose-parts", "lip": "image-parse-lip", "atr": "image-parse-atr"}
    for name in maps:
        labels = getattr(person, name)
        colours = None if name == "densepose" else palette(256)
        atomic_save_image(out / "test" / folders[name] / f"{stem}.png", labels, palette=colours)
    row = dict(person_id=f"test/{stem}", dataset="vitonhd", group="test", stem=stem, image=image,
               width=W, height=H, cloth_type=cloth_type, status="ok")  # fmt: skip
    return row, person


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("persons")
    out = tmp_path_factory.mktemp("out")
    rows, persons = zip(
        _person_row(root, out, "00000"),
        _person_row(root, out, "00001", cloth_type="lower"),
        _person_row(root, out, "00002", maps=("lip", "atr")),
        _person_row(root, out, "00003", cloth_type="hat"),
    )
    empty = dict(rows[0], person_id="test/00004", stem="00004")
    blank = np.zeros((H, W), np.uint8)
    for folder in ("densepose-parts", "image-parse-lip", "image-parse-atr"):
        atomic_save_image(out / "test" / folder / "00004.png", blank)
    stage = make_stage(MasksStage, str(out), threads=1, reuse_annotations=False)
    stage.check()
    stage.setup("CPU")
    results = stage.process_batch([*rows, empty])
    return stage, out, rows, persons, results


def test_stage_declaration():
    assert (MasksStage.name, MasksStage.input, MasksStage.key) == ("masks", "persons", "person_id")
    assert MasksStage.resources.device_class is None
    names = MasksStage.schema().names
    for column in ("person_id", "mask_path", "agnostic_path", "cloth_type", "mask_rle", "status"):
        assert column in names


def test_ok_row_writes_mask_agnostic_and_rle(stage_run):
    stage, out, rows, persons, results = stage_run
    for i in (0, 1):
        res, person = results[i], persons[i]
        assert res["status"] == "ok", res
        assert res["mask_path"] == f"test/agnostic-mask/{rows[i]['stem']}_mask.png"
        assert res["agnostic_path"] == f"test/agnostic-v3.2/{rows[i]['stem']}.jpg"
        assert res["cloth_type"] == rows[i]["cloth_type"]
        mask = load_labels(out / res["mask_path"])
        expected = agnostic_mask(person.densepose, person.lip, person.atr, rows[i]["cloth_type"])
        assert np.array_equal(mask, expected)
        assert np.array_equal(decode_rle(res["mask_rle"]), expected > 0)
        agnostic = load_rgb(out / res["agnostic_path"]).astype(int)
        core = expected > 0
        assert np.abs(agnostic[core] - 128).mean() < 3  # JPEG: gray 128 up to compression noise
        assert np.abs(agnostic[~core] - person.image[~core]).mean() < 6


def test_missing_densepose_is_an_error_row(stage_run):
    *_, results = stage_run
    res = results[2]
    assert res["status"] == "error" and res["error_type"] == "missing_input"
    assert "vtonpipe densepose" in res["error_message"]
    assert res.get("mask_path") is None


def test_bad_cloth_type_and_empty_mask_are_error_rows(stage_run):
    stage, out, *_, results = stage_run
    assert (results[3]["status"], results[3]["error_type"]) == ("error", "bad_cloth_type")
    assert (results[4]["status"], results[4]["error_type"]) == ("error", "empty_mask")
    assert not (out / "test" / "agnostic-mask" / "00004_mask.png").exists()
    table = stage.to_table(results)
    assert table.num_rows == 5
    assert table.column("status").to_pylist() == ["ok", "ok", "error", "error", "error"]


def test_size_mismatch_is_an_error_row(tmp_path):
    row, _ = _person_row(tmp_path, tmp_path / "out", "00007")
    wrong_size = np.zeros((H, W + 1), np.uint8)
    atomic_save_image(tmp_path / "out" / "test" / "image-parse-atr" / "00007.png", wrong_size)
    stage = make_stage(MasksStage, str(tmp_path / "out"), reuse_annotations=False)
    stage.setup("CPU")
    (res,) = stage.process_batch([row])
    assert (res["status"], res["error_type"]) == ("error", "size_mismatch")
