"""The demo's recipe sheet: per person, the photo, the OpenPose skeleton, the HR-VITON agnostic the
masks stage wrote and the CatVTON agnostic of the same person, side by side on one offline page."""

from __future__ import annotations

import html
from pathlib import Path

from vtonpipe.atomic import atomic_save_image, atomic_write_bytes
from vtonpipe.datasets.images import load_labels, load_rgb
from vtonpipe.errors import RowError
from vtonpipe.eval.report import STYLE
from vtonpipe.eval.sheet import THUMB_HEIGHT, thumbnail_data_uri
from vtonpipe.manifests.layout import item_path
from vtonpipe.masks.annotations import atr_from_cihp, lip_from_cihp, parts_from_rendering
from vtonpipe.masks.recipes import paint

COLUMNS = ("photo", "skeleton", "HR-VITON agnostic", "CatVTON agnostic")


def _cell(path: Path | None, label: str) -> str:
    uri = thumbnail_data_uri(path)
    if uri is None:
        return f"<td><div class=missing style='height:{THUMB_HEIGHT}px'>no {label}</div></td>"
    return f"<td><img src=\"{uri}\" alt=\"{label}\" height={THUMB_HEIGHT}></td>"


def catvton_agnostic(out: Path, split: Path, stem: str) -> Path | None:
    """The CatVTON recipe's agnostic image of a person from the dataset's maps, written under
    <out>/demo/catvton-agnostic/ (None when the recipe finds no garment)."""
    person = load_rgb(split / "image" / f"{stem}.jpg")
    cihp = load_labels(split / "image-parse-v3" / f"{stem}.png")
    maps = {"densepose": parts_from_rendering(load_rgb(split / "image-densepose" / f"{stem}.jpg")),
            "lip": lip_from_cihp(cihp), "atr": atr_from_cihp(cihp)}
    try:
        result = paint("catvton", person, maps, "upper", "vitonhd")
    except RowError:
        return None
    path = out / "demo" / "catvton-agnostic" / f"{stem}.jpg"
    atomic_save_image(path, result.image)
    return path


def write_recipe_sheet(out: Path, dataset: Path, group: str = "test") -> Path:
    """Write <out>/demo/recipes.html; returns its path."""
    split = dataset / group
    rows = []
    for photo in sorted((split / "image").glob("*.jpg")):
        stem = photo.stem
        cells = [
            _cell(photo, COLUMNS[0]),
            _cell(out / item_path(group, "openpose_img", f"{stem}_rendered", ".png"), COLUMNS[1]),
            _cell(out / item_path(group, "agnostic-v3.2", stem, ".jpg"), COLUMNS[2]),
            _cell(catvton_agnostic(out, split, stem), COLUMNS[3]),
        ]
        rows.append(f"<tr><td class=id>{html.escape(stem)}</td>{''.join(cells)}</tr>")
    head = "".join(f"<th>{c}</th>" for c in ("person", *COLUMNS))
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>vtonpipe demo: agnostic recipes</title>"
            f"<style>{STYLE}</style></head><body><h1>Agnostic recipes</h1>"
            "<p>HR-VITON's agnostic-v3.2 (OpenPose keypoints + CIHP parse; what StableVITON was trained on) beside "
            "CatVTON's AutoMasker agnostic (DensePose + SCHP). Tiny random-weight models: the skeleton shows the "
            "mechanics, not a real pose.</p>"
            f"<table class=sheet><tr>{head}</tr>{''.join(rows)}</table></body></html>")
    path = out / "demo" / "recipes.html"
    atomic_write_bytes(path, page.encode())
    return path
