"""Ingest of the three layouts, including broken input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vtonpipe.datasets import layouts
from vtonpipe.datasets.ingest import catalog_pair_chunks, ingest
from vtonpipe.datasets.pairs import read_pairs_file
from vtonpipe.errors import ConfigError
from vtonpipe.manifests.io import part_files, read_manifest


def _img(path: Path, size=(24, 32), color=(200, 10, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), color, np.uint8)).save(path)


def _rows(out, name, key=None):
    return {r[key or layouts_key(name)]: r for r in read_manifest(out, name).to_pylist()}


def layouts_key(name):
    return {"persons": "person_id", "garments": "garment_id", "pairs": "pair_id"}[name]


@pytest.fixture()
def vitonhd(tmp_path):
    root = tmp_path / "viton"
    t = root / "test"
    for i in range(4):
        _img(t / "image" / f"0000{i}_00.jpg")
        _img(t / "cloth" / f"0000{i}_00.jpg", color=(10, 200, 10))
    _img(t / "image-parse-v3" / "00000_00.png")
    _img(t / "agnostic-mask" / "00000_00_mask.png")
    (t / "image" / "00004_00.jpg").write_bytes(b"")  # zero bytes
    good = (t / "image" / "00000_00.jpg").read_bytes()
    (t / "image" / "00005_00.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (t / "image" / "00006_00.jpg").write_bytes(b"\xff\xd8not a jpeg at all" * 10)  # corrupt
    (t / "image" / "README.txt").write_text("not an image")
    os.close(os.open(os.path.join(os.fsencode(t / "image"), b"bad\xffname.jpg"), os.O_CREAT | os.O_WRONLY))
    (root / "test_pairs.txt").write_bytes(
        b"00000_00.jpg 00001_00.jpg\n"
        b"00000_00.jpg 00001_00.jpg\n"  # duplicate line
        b"00001_00.jpg 00002_00.jpg\n"
        b"00002_00.jpg 09999_00.jpg\n"  # unknown garment
        b"../../etc/passwd 00001_00.jpg\n"  # traversal
        b"00004_00.jpg 00003_00.jpg\n"  # zero-byte person
        b"\xff\xfe 00001_00.jpg\n"  # not UTF-8
        b"only-one-token\n"
    )
    return root


def test_vitonhd_ingest_records_every_problem(vitonhd, tmp_path):
    out = tmp_path / "out"
    summary = ingest(layouts.scan_vitonhd(vitonhd, ("test",)), out, progress=False)
    persons = _rows(out, "persons")
    assert persons["test/00000_00"]["status"] == "ok"
    assert persons["test/00000_00"]["width"] == 24 and persons["test/00000_00"]["height"] == 32
    assert persons["test/00000_00"]["ann_parse"].endswith("image-parse-v3/00000_00.png")
    assert persons["test/00000_00"]["ann_agnostic_mask"].endswith("agnostic-mask/00000_00_mask.png")
    assert persons["test/00001_00"]["ann_parse"] is None
    assert persons["test/00004_00"]["error_type"] == "unreadable_image"
    assert "empty file" in persons["test/00004_00"]["error_message"]
    assert persons["test/00005_00"]["status"] == "error"  # truncated
    assert persons["test/00006_00"]["status"] == "error"  # corrupt
    bad_name = [r for r in persons.values() if r["error_type"] == "bad_file_name"]
    assert len(bad_name) == 1 and "\\xff" in bad_name[0]["file_name"]
    assert not any(k.endswith("README") for k in persons)

    pairs = _rows(out, "pairs")
    assert pairs["unpaired/00000_00__00001_00"]["status"] == "ok"
    assert pairs["paired/00000_00__00000_00"]["status"] == "ok"
    assert pairs["unpaired/00001_00__00002_00"]["person_image"].endswith("test/image/00001_00.jpg")
    assert pairs["unpaired/00002_00__09999_00"]["error_type"] == "unknown_id"
    assert pairs["unpaired/00004_00__00003_00"]["error_type"] == "bad_person"
    errors = {r["error_type"] for r in pairs.values() if r["status"] != "ok"}
    assert {"path_traversal", "duplicate_pair", "bad_pairs_line"} <= errors
    dup = [r for r in pairs.values() if r["error_type"] == "duplicate_pair"]
    assert dup[0]["status"] == "skipped"
    assert summary.persons["ok"] == 4 and summary.persons["error"] == 4
    # every pair key appears once in the raw parts too
    raw = pq.read_table(part_files(out, "pairs")[0])["pair_id"].to_pylist()
    assert len(raw) == len(set(raw))


def test_pairs_file_rejects_traversal_and_duplicates(tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_text("a.jpg b.jpg\na.jpg b.jpg\n../a.jpg b.jpg\na.jpg /etc/b.jpg\nsub/a.jpg b.jpg\n\n")
    lines, problems = read_pairs_file(f)
    assert [(l.person, l.garment) for l in lines] == [("a.jpg", "b.jpg")]
    assert [p.error_type for p in problems] == ["duplicate_pair", "path_traversal", "path_traversal", "path_traversal"]


def test_dresscode_categories_and_modes(tmp_path):
    root = tmp_path / "dc"
    for cat in ("upper_body", "dresses"):
        for i in range(2):
            _img(root / cat / "images" / f"0{i}{cat[0]}_0.jpg")
            _img(root / cat / "images" / f"0{i}{cat[0]}_1.jpg")
        (root / cat / "test_pairs_paired.txt").write_text(f"00{cat[0]}_0.jpg 00{cat[0]}_1.jpg\n")
        (root / cat / "test_pairs_unpaired.txt").write_text(f"00{cat[0]}_0.jpg 01{cat[0]}_1.jpg\n")
    _img(root / "upper_body" / "label_maps" / "00u_4.png")
    out = tmp_path / "out"
    ingest(layouts.scan_dresscode(root), out, progress=False)
    persons = _rows(out, "persons")
    garments = _rows(out, "garments")
    assert set(persons) == {"upper_body/00u_0", "upper_body/01u_0", "dresses/00d_0", "dresses/01d_0"}
    assert len(garments) == 4 and garments["dresses/01d_1"]["category"] == "overall"
    assert persons["upper_body/00u_0"]["cloth_type"] == "upper"
    assert persons["upper_body/00u_0"]["ann_parse"].endswith("label_maps/00u_4.png")
    pairs = _rows(out, "pairs")
    assert pairs["unpaired/00d_0__01d_1"]["cloth_type"] == "overall"
    assert pairs["paired/00u_0__00u_1"]["garment_id"] == "upper_body/00u_1"
    assert all(r["status"] == "ok" for r in pairs.values())


def test_catalog_every_person_with_every_garment(tmp_path):
    for i in range(3):
        _img(tmp_path / "p" / f"p{i}.png")
    for i in range(4):
        _img(tmp_path / "g" / f"g{i}.jpg")
    (tmp_path / "g" / "broken.jpg").write_bytes(b"xx")
    out = tmp_path / "out"
    summary = ingest(layouts.scan_catalog(tmp_path / "p", tmp_path / "g", "lower"), out, progress=False, chunk_rows=5)
    pairs = read_manifest(out, "pairs")
    assert pairs.num_rows == 12 and summary.pairs["ok"] == 12
    assert set(pairs["cloth_type"].to_pylist()) == {"lower"}
    assert "unpaired/p2__g3" in pairs["pair_id"].to_pylist()
    assert _rows(out, "garments")["catalog/broken"]["status"] == "error"


def test_catalog_pairs_stream_in_bounded_chunks():
    import pyarrow as pa

    from vtonpipe.datasets.ingest import GARMENTS_SCHEMA, PERSONS_SCHEMA

    def table(schema, key, n):
        rows = [{key: f"catalog/x{i}", "stem": f"x{i}", "group": "catalog", "split": "", "image": f"/x{i}.jpg",
                 "status": "ok", "cloth_type": "upper", "category": "upper"} for i in range(n)]
        return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)

    persons, garments = table(PERSONS_SCHEMA, "person_id", 1000), table(GARMENTS_SCHEMA, "garment_id", 1000)
    sizes = []
    for chunk in catalog_pair_chunks(persons, garments, chunk_rows=65_536):
        sizes.append(chunk.num_rows)
        assert chunk.num_rows <= 65_536
    assert sum(sizes) == 1_000_000 and len(sizes) == 16


def test_missing_layout_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not a VITON-HD folder"):
        layouts.scan_vitonhd(tmp_path)
    with pytest.raises(ConfigError, match="--category"):
        layouts.scan_catalog(tmp_path, tmp_path, "hats")


def test_relative_roots_become_absolute_paths(tmp_path, monkeypatch):
    _img(tmp_path / "p" / "a.png")
    _img(tmp_path / "g" / "b.png")
    monkeypatch.chdir(tmp_path)
    ingest(layouts.scan_catalog("p", "g", "upper"), tmp_path / "out", progress=False)
    pair = read_manifest(tmp_path / "out", "pairs").to_pylist()[0]
    assert os.path.isabs(pair["person_image"]) and os.path.isabs(pair["garment_image"])


def test_same_stem_different_extension_is_reported(tmp_path):
    _img(tmp_path / "p" / "a.jpg")
    _img(tmp_path / "p" / "a.png")
    _img(tmp_path / "g" / "b.png")
    out = tmp_path / "out"
    ingest(layouts.scan_catalog(tmp_path / "p", tmp_path / "g", "upper"), out, progress=False)
    persons = _rows(out, "persons")
    assert persons["catalog/a"]["status"] == "ok" and persons["catalog/a"]["file_name"] == "a.jpg"
    assert persons["catalog/a.png"]["error_type"] == "duplicate_id"
    assert read_manifest(out, "pairs").num_rows == 1


def test_dresscode_persons_carry_the_split_of_their_pairs(tmp_path):
    root = tmp_path / "dc"
    for i in range(3):
        _img(root / "upper_body" / "images" / f"0{i}_0.jpg")
        _img(root / "upper_body" / "images" / f"0{i}_1.jpg")
    (root / "upper_body" / "train_pairs.txt").write_text("00_0.jpg 00_1.jpg\n")
    (root / "upper_body" / "test_pairs_paired.txt").write_text("01_0.jpg 01_1.jpg\n")
    out = tmp_path / "out"
    ingest(layouts.scan_dresscode(root), out, progress=False)
    persons = _rows(out, "persons")
    assert {k: r["split"] for k, r in persons.items()} == {
        "upper_body/00_0": "train", "upper_body/01_0": "test", "upper_body/02_0": ""}


def test_vitonhd_default_is_the_test_split(tmp_path, capsys):
    from vtonpipe.cli import build_parser, main

    for split in ("train", "test"):
        _img(tmp_path / "v" / split / "image" / f"{split}_00.jpg")
        _img(tmp_path / "v" / split / "cloth" / f"{split}_00.jpg")
    assert main(["ingest", "vitonhd", str(tmp_path / "v"), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert set(_rows(tmp_path / "out", "persons")) == {"test/test_00"}
    help_text = " ".join(build_parser(["ingest"])._subparsers._group_actions[0].choices["ingest"].format_help().split())
    assert "(default: test, the evaluation split; use train,test" in help_text


def test_exif_orientation_is_applied_and_recorded(tmp_path):
    from vtonpipe.datasets.images import load_rgb

    image = Image.fromarray(np.zeros((20, 40, 3), np.uint8))  # stored landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # a phone's "rotate 90 clockwise"
    (tmp_path / "p").mkdir()
    image.save(tmp_path / "p" / "phone.jpg", exif=exif)
    _img(tmp_path / "g" / "g.png")
    out = tmp_path / "out"
    ingest(layouts.scan_catalog(tmp_path / "p", tmp_path / "g", "upper"), out, progress=False)
    row = _rows(out, "persons")["catalog/phone"]
    assert (row["orientation"], row["width"], row["height"]) == (6, 20, 40)
    assert load_rgb(tmp_path / "p" / "phone.jpg").shape == (40, 20, 3)  # read upright


def test_a_pairs_line_with_three_columns_is_a_bad_line(tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_text("a.jpg b.jpg c.jpg\na.jpg b.jpg\n")
    lines, problems = read_pairs_file(f)
    assert len(lines) == 1 and [p.error_type for p in problems] == ["bad_pairs_line"]
