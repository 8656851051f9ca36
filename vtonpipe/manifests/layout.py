"""Where things live in an output folder: every deterministic path rule, once.

    <out>/run.json
    <out>/manifests/<manifest>/part-<run_id>-<n>.parquet
    <out>/<group>/<dataset folder>/<stem><suffix>      e.g. test/image-parse-lip/00001_00.png
    <out>/results/<model>/<split>/<paired|unpaired>/<person>__<garment>.png
    <out>/eval/<model>/<split>/<mode>/{summary.json,report.html,manifests/}   (vtonpipe.eval.folders)

``group`` is the dataset split (VITON-HD train/test), the DressCode category folder, or
"catalog". Stages store paths relative to <out> in their manifests.
"""

from __future__ import annotations

import os
from pathlib import Path


def manifest_dir(out_dir: str | os.PathLike, name: str) -> Path:
    return Path(out_dir) / "manifests" / name


def item_path(group: str, folder: str, stem: str, suffix: str) -> str:
    """Relative path of one per-item output file: ``<group>/<folder>/<stem><suffix>``."""
    for part in (group, folder, stem):
        if not part or "/" in part or "\\" in part or part in (".", ".."):
            raise ValueError(f"unsafe path component {part!r}")
    return f"{group}/{folder}/{stem}{suffix}"


def result_path(model: str, split: str, mode: str, person_stem: str, garment_stem: str) -> str:
    """Relative path of one try-on result: results/<model>/<split>/<mode>/<person>__<garment>.png."""
    for part in (model, split, mode):
        if not part or "/" in part or "\\" in part or part in (".", ".."):
            raise ValueError(f"unsafe path component {part!r}")
    return f"results/{model}/{split}/{mode}/{pair_stem(person_stem, garment_stem)}.png"


def agnostic_mask_path(group: str, stem: str) -> str:
    """Relative path of a person's agnostic mask, named as VITON-HD names it: ``<stem>_mask.png``."""
    return item_path(group, "agnostic-mask", f"{stem}_mask", ".png")


def tryon_manifest(model: str) -> str:
    """The manifest of one try-on model's renders: models render the same pairs side by side."""
    return f"tryon-{model}"


def pair_stem(person_stem: str, garment_stem: str) -> str:
    """File stem of one pair's result: ``<person>__<garment>``."""
    return f"{person_stem}__{garment_stem}"
