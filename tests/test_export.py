"""`vtonpipe export`: tiny output folders (ingested datasets + stage outputs written by hand) exported
in both layouts and read back by the upstream loaders' open rules (tests/export_loaders.py)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import export_loaders as loaders
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from vtonpipe.atomic import atomic_save_image
from vtonpipe.cli import main
from vtonpipe.datasets import layouts
from vtonpipe.datasets.ingest import ingest
from vtonpipe.export.files import RECORD
from vtonpipe.export.run import NAMES_FILE, export_dataset, summary_lines
from vtonpipe.manifests.io import new_run_id, read_manifest, write_part
from vtonpipe.manifests.layout import item_path

# stage -> the files it writes per row (folder, suffix), as the stages (and the pose/parse additions) name them
PERSON_STAGES = {
    "densepose": (("image-densepose", ".jpg"), ("densepose-parts", ".png")),
    "parse": (("image-parse-lip", ".png"), ("image-parse-atr", ".png"), ("image-parse-v3", ".png")),
    "masks": (("agnostic-mask", "_mask.png"), ("agnostic-v3.2", ".jpg"), ("image-parse-agnostic-v3.2", ".png")),
    "pose": (("openpose_json", "_keypoints.json"), ("openpose_img", "_rendered.png")),
}
GARMENT_STAGES = {"cloth-mask": (("cloth-mask", ".jpg"),)}
W, H = 24, 32


def _photo(path: Path, color, size=(W, H), exif=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.full((size[1], size[0], 3), color, np.uint8))
    image.save(path, **({"exif": exif} if exif else {}))


def _output(path: Path, size: tuple[int, int], value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": [float(value)] * 75}]}))
    elif path.suffix == ".jpg":
        atomic_save_image(path, np.full((size[1], size[0], 3), value, np.uint8))
    else:
        atomic_save_image(path, np.full((size[1], size[0]), value, np.uint8))


def fake_stages(out: Path, errors: dict[tuple[str, str], str] | None = None, skip: tuple[str, ...] = ()) -> None:
    """Each stage's manifest (ok rows, or an error where `errors` says) and its files for every row,
    error rows included: a stale file must not make a row exportable."""
    for manifest, key, stages in (("persons", "person_id", PERSON_STAGES), ("garments", "garment_id", GARMENT_STAGES)):
        rows = [r for r in read_manifest(out, manifest).to_pylist() if r["status"] == "ok"]
        for stage, outputs in stages.items():
            if stage in skip:
                continue
            table = []
            for n, row in enumerate(rows):
                error = (errors or {}).get((stage, row[key]))
                table.append({key: row[key], "status": "error" if error else "ok", "error_type": error,
                              "error_message": f"{error} for {row[key]}" if error else None})
                for folder, suffix in outputs:
                    _output(out / item_path(row["group"], folder, row["stem"], suffix), (row["width"], row["height"]),
                            40 + 10 * n)
            write_part(out, stage, pa.Table.from_pylist(table), new_run_id(), 0)


def vitonhd_out(base: Path) -> Path:
    """Five persons, pairs i -> i+1. Person 2's masks row is an error, person 4's DensePose render is
    gone although its row is ok, garment 1's cloth-mask row is an error."""
    root = base / "viton"
    for i in range(5):
        _photo(root / "test" / "image" / f"0000{i}_00.jpg", (200, 10 * i, 10))
        _photo(root / "test" / "cloth" / f"0000{i}_00.jpg", (10, 200, 10 * i))
    (root / "test_pairs.txt").write_text("".join(f"0000{i}_00.jpg 0000{(i + 1) % 5}_00.jpg\n" for i in range(5)))
    out = base / "out-viton"
    ingest(layouts.scan_vitonhd(root), out, workers=1, progress=False)
    fake_stages(out, {("masks", "test/00002_00"): "empty_mask", ("cloth-mask", "test/00001_00"): "no_garment"})
    (out / "test" / "image-densepose" / "00004_00.jpg").unlink()
    return out


def dresscode_out(base: Path) -> Path:
    """Three upper-body and two lower-body persons with their garments; no dresses."""
    root = base / "dresscode"
    ids = {"upper_body": ["010000", "010001", "010002"], "lower_body": ["020000", "020001"]}
    for category, names in ids.items():
        for n, name in enumerate(names):
            _photo(root / category / "images" / f"{name}_0.jpg", (200, 30 * n, 10))
            _photo(root / category / "images" / f"{name}_1.jpg", (10, 200, 30 * n))
        (root / category / "test_pairs_paired.txt").write_text("".join(f"{i}_0.jpg {i}_1.jpg\n" for i in names))
        (root / category / "test_pairs_unpaired.txt").write_text(
            "".join(f"{i}_0.jpg {names[(n + 1) % len(names)]}_1.jpg\n" for n, i in enumerate(names)))
    out = base / "out-dresscode"
    ingest(layouts.scan_dresscode(root), out, workers=1, progress=False)
    fake_stages(out)
    return out


@pytest.fixture(scope="module")
def viton(tmp_path_factory) -> Path:
    return vitonhd_out(tmp_path_factory.mktemp("viton"))


@pytest.fixture(scope="module")
def dresscode(tmp_path_factory) -> Path:
    return dresscode_out(tmp_path_factory.mktemp("dresscode"))


def test_vitonhd_export_reads_in_stableviton_catvton_and_hrviton(viton, tmp_path):
    root = tmp_path / "ds"
    result = export_dataset(viton, root, "vitonhd")
    assert result.exit_code == 0
    # person 0 keeps only its paired line (garment 1 is out); person 1 loses its unpaired line
    # because its paired garment is out; person 3's lines are whole.
    assert (root / "test_pairs.txt").read_text() == "00000_00.jpg 00000_00.jpg\n00003_00.jpg 00004_00.jpg\n"
    assert (root / "test_pairs_unpaired.txt").read_text() == (root / "test_pairs.txt").read_text()
    for paired in (True, False):
        for item in loaders.stableviton(root, paired):
            assert item["image"].shape == item["agn"].shape == item["agn_mask"].shape == item["cloth"].shape
        assert len(loaders.catvton_vitonhd(root, paired)) == 2
    items = loaders.hrviton(root)
    assert len(items) == 2 and items[0]["pose"].shape == (25, 2)

    left = {(x.kind, x.id): x.reason for x in result.left_out}
    assert left[("person", "test/00002_00")] == "masks error: empty_mask: empty_mask for test/00002_00"
    assert "test/image-densepose/00004_00.jpg is missing" in left[("person", "test/00004_00")]
    assert left[("garment", "test/00001_00")].startswith("cloth-mask error: no_garment")
    assert left[("pair", "unpaired/00001_00__00002_00")].startswith(
        "its person's paired pair paired/00001_00__00001_00")
    assert {k[1] for k in left if k[0] == "pair"} == {
        "paired/00001_00__00001_00", "unpaired/00000_00__00001_00", "unpaired/00001_00__00002_00",
        "paired/00002_00__00002_00", "unpaired/00002_00__00003_00", "paired/00004_00__00004_00",
        "unpaired/00004_00__00000_00"}
    assert not (root / "test" / "image" / "00002_00.jpg").exists()

    assert result.counts["test/image"] == {"hard link": 2}
    assert result.counts["test/cloth"] == {"hard link": 3}
    assert set(result.counts) >= {f"test/{f}" for f in (
        "agnostic-v3.2", "agnostic-mask", "image-densepose", "cloth-mask", "image-parse-v3",
        "image-parse-agnostic-v3.2", "openpose_json", "openpose_img")}
    text = "\n".join(summary_lines(result))
    assert "person test/00002_00: masks error: empty_mask" in text and f"exported to {root}" in text
    record = json.loads((root / RECORD).read_text())
    assert {"kind": "person", "id": "test/00002_00", "reason": left[("person", "test/00002_00")]} in record["left_out"]


def test_hard_links_are_used_and_reexport_is_idempotent(tmp_path):
    out, root = vitonhd_out(tmp_path), tmp_path / "ds"
    export_dataset(out, root, "vitonhd")
    mask = "test/agnostic-mask/00003_00_mask.png"
    assert os.path.samefile(root / mask, out / mask)
    photo = "test/image/00003_00.jpg"
    assert os.path.samefile(root / photo, tmp_path / "viton" / photo)
    record = (root / RECORD).read_text()

    again = export_dataset(out, root, "vitonhd")
    assert {how for counter in again.counts.values() for how in counter} == {"unchanged"}
    assert not again.updated and not again.conflicts and (root / RECORD).read_text() == record

    atomic_save_image(out / mask, np.zeros((H, W), np.uint8))  # the masks stage wrote it anew
    third = export_dataset(out, root, "vitonhd")
    assert third.updated == [mask] and os.path.samefile(root / mask, out / mask)


def test_dresscode_export_reads_in_catvton(dresscode, tmp_path, capsys):
    root = tmp_path / "ds"
    assert main(["export", "--out", str(dresscode), "--to", str(root), "--layout", "dresscode", "--split", "test"]) == 0
    assert f"exported to {root}" in capsys.readouterr().out
    for paired in (True, False):
        items = loaders.catvton_dresscode(root, paired)
        assert len(items) == 5 and all(i["person"].shape[:2] == i["mask"].shape for i in items)
    assert (root / "upper_body" / "test_pairs_paired.txt").read_text().splitlines()[0] == "010000_0.jpg 010000_1.jpg"
    assert (root / "dresses" / "test_pairs_unpaired.txt").read_text() == ""
    for rel in ("images/010000_0.jpg", "images/010000_1.jpg", "agnostic_masks/010000_0.png", "dense/010000_5.png",
                "label_maps/010000_4.png", "image-densepose/010000_0.jpg", "cloth-mask/010000_1.jpg"):
        assert (root / "upper_body" / rel).is_file(), rel
    assert not (root / NAMES_FILE).exists()


def test_each_dataset_exports_in_the_other_layout(viton, dresscode, tmp_path):
    as_dresscode = tmp_path / "viton-as-dresscode"
    export_dataset(viton, as_dresscode, "dresscode")
    assert len(loaders.catvton_dresscode(as_dresscode, paired=True)) == 2  # persons 0 and 3
    assert len(loaders.catvton_dresscode(as_dresscode, paired=False)) == 2  # 1 -> 2 and 3 -> 4
    assert (as_dresscode / "upper_body" / "images" / "000003_1.jpg").is_file()  # person 3's own garment

    as_vitonhd = tmp_path / "dresscode-as-vitonhd"
    result = export_dataset(dresscode, as_vitonhd, "vitonhd")
    assert result.exit_code == 0 and not result.left_out
    for paired in (True, False):
        assert len(loaders.stableviton(as_vitonhd, paired)) == 5
        assert len(loaders.catvton_vitonhd(as_vitonhd, paired)) == 5
    assert len(loaders.hrviton(as_vitonhd)) == 5
    names = (as_vitonhd / NAMES_FILE).read_text().splitlines()
    assert names[0] == "file\tkind\tid\tsource" and len(names) == 1 + 10
    assert "test/cloth/00000_00.jpg\tgarment\tlower_body/020000_1\t" in "\n".join(names)


def test_catalog_photos_are_renamed_and_converted(tmp_path):
    persons, garments = tmp_path / "persons", tmp_path / "garments"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise: stored landscape, upright portrait
    _photo(persons / "model 1.jpg", (200, 0, 0))
    _photo(persons / "phone.jpg", (0, 0, 200), size=(H, W), exif=exif)
    persons.joinpath("studio.png").parent.mkdir(exist_ok=True)
    Image.fromarray(np.full((H, W, 4), 120, np.uint8)).save(persons / "studio.png")
    _photo(garments / "shirt.jpg", (0, 200, 0))
    _photo(garments / "top.jpg", (0, 100, 0))
    out = tmp_path / "out"
    ingest(layouts.scan_catalog(persons, garments, "upper"), out, workers=1, progress=False)
    fake_stages(out)

    root = tmp_path / "ds"
    result = export_dataset(out, root, "vitonhd")
    assert result.counts["test/image"] == {"converted": 2, "hard link": 1}
    assert len(loaders.stableviton(root, paired=False)) == len(loaders.catvton_vitonhd(root, paired=False)) == 6
    assert any("no paired garment" in note for note in result.notes)
    names = {line.split("\t")[3]: line.split("\t")[0] for line in (root / NAMES_FILE).read_text().splitlines()[1:]}
    upright = loaders._pil(root / names[str(persons / "phone.jpg")])
    assert upright.shape == (H, W, 3)  # upright pixels, no EXIF tag left for a loader to apply or not
    assert names[str(persons / "model 1.jpg")] == "test/image/00000_00.jpg"

    dresscode_root = tmp_path / "ds-dresscode"
    export_dataset(out, dresscode_root, "dresscode")
    assert len(loaders.catvton_dresscode(dresscode_root, paired=False)) == 6
    assert loaders.catvton_dresscode(dresscode_root, paired=True) == []


def test_an_existing_different_file_is_kept_unless_overwrite(viton, tmp_path, capsys):
    root = tmp_path / "ds"
    foreign = root / "test" / "image" / "00000_00.jpg"
    _photo(foreign, (1, 2, 3))
    (root / "test_pairs.txt").write_text("00000_00.jpg 00007_00.jpg\n")
    kept = foreign.read_bytes()
    assert main(["export", "--out", str(viton), "--to", str(root), "--layout", "vitonhd"]) == 1
    assert "kept 2 existing files that differ" in capsys.readouterr().out
    assert foreign.read_bytes() == kept and (root / "test_pairs.txt").read_text() == "00000_00.jpg 00007_00.jpg\n"

    result = export_dataset(viton, root, "vitonhd", overwrite=True)
    assert sorted(result.overwritten) == ["test/image/00000_00.jpg", "test_pairs.txt"] and result.exit_code == 0
    assert os.path.samefile(foreign, viton.parent / "viton" / "test" / "image" / "00000_00.jpg")


def test_links_fall_back_to_copies_where_refused(viton, tmp_path, monkeypatch):
    def refuse(src, dst, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    root = tmp_path / "ds"
    result = export_dataset(viton, root, "vitonhd")
    assert result.counts["test/agnostic-mask"] == {"copy": 2}
    assert result.fallbacks == {"hard links refused (Invalid cross-device link)": sum(
        n for label, c in result.counts.items() for how, n in c.items() if how == "copy")}
    mask = "test/agnostic-mask/00000_00_mask.png"
    assert not os.path.samefile(root / mask, viton / mask) and (root / mask).read_bytes() == (viton / mask).read_bytes()
    assert "files copied instead" in "\n".join(summary_lines(result))


def test_bad_input_is_a_one_line_error(viton, tmp_path, capsys):
    no_cloth_mask = tmp_path / "no-cloth-mask"
    shutil.copytree(viton / "manifests", no_cloth_mask / "manifests", ignore=shutil.ignore_patterns("cloth-mask"))
    (tmp_path / "empty").mkdir()
    to = str(tmp_path / "ds")
    cases = [
        (["--out", str(viton), "--to", to, "--layout", "viton"], "unknown layout 'viton'; layouts: vitonhd, dresscode"),
        (["--out", str(tmp_path / "empty"), "--to", to, "--layout", "vitonhd"],
         "has no persons, garments, pairs manifest"),
        (["--out", str(viton), "--to", to, "--layout", "vitonhd", "--split", "train"], "--split train: "),
        (["--out", str(viton), "--layout", "vitonhd"], "export needs --to DIR"),
        (["--out", str(viton), "--to", to, "--layout", "vitonhd", "--link", "soft"], "--link 'soft'"),
        (["--out", str(no_cloth_mask), "--to", to, "--layout", "vitonhd"], "cloth-mask stage, which has not run"),
    ]
    for argv, match in cases:
        assert main(["export", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "ds").exists()
