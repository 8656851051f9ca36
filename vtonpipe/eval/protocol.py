"""Which files are compared with which: result/GT matching and the GT resize of the protocol.

Protocol (CatVTON's evaluation script):

- paired: each result shows the person wearing their own garment, so the person photo is the
  ground truth: FID and KID of results vs. the GT set, and per-pair SSIM and LPIPS.
- unpaired: no GT exists per pair: FID and KID of results vs. the person set only.
- The GT set holds person images only. DressCode's ``images/`` folders mix persons (``<id>_0``)
  and garments (``<id>_1``); garment files are dropped from the GT set.
- GT images are resized to the result height (LANCZOS, aspect ratio kept), so metrics are
  computed at the inference resolution.

Files match by stem: a result ``<person>__<garment>.png`` (vtonpipe's layout) matches the GT
``<person>.*``; any other result matches the GT file with its own stem (other tools' folders).
Two result folders compared with each other match by relative path, suffix aside.

The metrics stage reads one row per result: ``pair_id`` (``<mode>/<relative path without
suffix>``), ``result`` and ``gt`` (the file it is compared with, or null), as absolute paths.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vtonpipe.errors import ConfigError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
PAIR_SEPARATOR = "__"
_DRESSCODE_GARMENT = re.compile(r"^(?P<id>.+)_1$")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under `folder` (recursive, hidden files skipped), sorted by path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith(".")
    )


def person_images_only(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Split off DressCode garment images (``<id>_1`` beside a ``<id>_0``): (persons, dropped)."""
    stems = {p.stem for p in paths}
    kept, dropped = [], []
    for p in paths:
        m = _DRESSCODE_GARMENT.match(p.stem)
        (dropped if m and f"{m['id']}_0" in stems else kept).append(p)
    return kept, dropped


def person_stem(result_stem: str) -> str:
    """The GT stem a result file refers to."""
    return result_stem.split(PAIR_SEPARATOR, 1)[0]


def index_by_stem(paths: list[Path]) -> dict[str, Path]:
    """stem -> path; two files with one stem make matching ambiguous, so that is an error."""
    index: dict[str, Path] = {}
    for p in paths:
        if p.stem in index:
            raise ConfigError(f"two ground-truth files share the stem {p.stem!r}: {index[p.stem]} and {p}")
        index[p.stem] = p
    return index


def match_ground_truth(result: Path, gt_index: dict[str, Path]) -> Path | None:
    """The GT file of one result: same stem first (other tools), else the person part of the name."""
    return gt_index.get(result.stem) or gt_index.get(person_stem(result.stem))


def relative_stem(folder: Path, path: Path) -> str:
    """`path` relative to `folder`, without its suffix: ``sub/a__b`` for ``<folder>/sub/a__b.png``."""
    return path.relative_to(folder).with_suffix("").as_posix()


def index_by_relative_stem(folder: Path, paths: Iterable[Path]) -> dict[str, Path]:
    """relative path without suffix -> path; two files differing only in suffix are an error."""
    index: dict[str, Path] = {}
    for p in paths:
        key = relative_stem(folder, p)
        if key in index:
            raise ConfigError(f"two files in {folder} differ only in suffix: {index[key].name} and {p.name}")
        index[key] = p
    return index


def listing_rows(folder: Path, results: Iterable[Path], mode: str,
                 partner: Callable[[Path], Path | None]) -> list[dict[str, Any]]:
    """The metrics stage's input rows: each result under `folder` and the file `partner` gives it."""
    rows = []
    for key, path in index_by_relative_stem(folder, results).items():
        other = partner(path)
        rows.append({"pair_id": f"{mode}/{key}", "result": str(path), "gt": None if other is None else str(other)})
    return rows


def resize_to_height(image: np.ndarray, height: int) -> np.ndarray:
    """Aspect-preserving LANCZOS resize of a uint8 HxWx3 image to `height` rows."""
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, round(w * height / h))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS))
