"""The masks stage: per person, the CatVTON agnostic mask and the StableVITON agnostic image.

Needs three maps per person: the DensePose part map and the SCHP LIP and ATR maps. With the
option ``reuse_annotations`` (default on) each map comes from the dataset's own annotations when
the person has a usable one (VITON-HD: CIHP parse -> LIP + ATR, parula rendering -> parts;
DressCode: ATR label map, DensePose labels; see vtonpipe.masks.annotations), else from what the
densepose and parse stages wrote under the output folder. The ``sources`` column records which
(e.g. ``lip=parse,atr=dataset,densepose=dataset``). A shipped file that exists but cannot be read
or decoded is an error row (unreadable_image, bad_annotation), not a fallback.

Writes <group>/agnostic-mask/<stem>_mask.png (0/255, white = repaint) and
<group>/agnostic-v3.2/<stem>.jpg (masked region gray 128).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.datasets.images import load_labels, load_rgb, resize_labels
from vtonpipe.errors import RowError
from vtonpipe.atomic import atomic_save_image
from vtonpipe.manifests.layout import agnostic_mask_path, item_path
from vtonpipe.masks.agnostic import CLOTH_TYPES, agnostic_image, agnostic_mask
from vtonpipe.masks.annotations import SHIPPED_MAPS
from vtonpipe.labels.lookup import NUM_CLASSES
from vtonpipe.masks.rle import encode_rle
from vtonpipe.stages.base import Resources, Stage

# (folder, suffix, map name, the stage that writes it)
INPUT_MAPS = (
    ("densepose-parts", ".png", "densepose", "densepose"),
    ("image-parse-lip", ".png", "lip", "parse"),
    ("image-parse-atr", ".png", "atr", "parse"),
)
DATASET = "dataset"


def _check_range(labels: np.ndarray, name: str, path: str, error_type: str) -> None:
    if labels.max(initial=0) >= NUM_CLASSES[name]:
        raise RowError(
            error_type, f"{path}: label {labels.max()} is not a {name} class (0-{NUM_CLASSES[name] - 1})"
        )


def shipped_maps(row: dict[str, Any]) -> set[str]:
    """Names of the maps ("lip", "atr", "densepose") this person's dataset annotations provide."""
    names: set[str] = set()
    for column, (_, converters) in SHIPPED_MAPS.get(row.get("dataset"), {}).items():
        if row.get(column):
            names.update(converters)
    return names


class MasksStage(Stage):
    """CatVTON agnostic masks per cloth type and StableVITON agnostic images (agnostic-mask/, agnostic-v3.2/)."""

    name = "masks"
    input = "persons"
    key = "person_id"
    columns: ClassVar[list[pa.Field]] = [
        pa.field("mask_path", pa.string()),
        pa.field("agnostic_path", pa.string()),
        pa.field("cloth_type", pa.string()),
        pa.field("mask_rle", pa.string()),
        pa.field("sources", pa.string()),
    ]
    version = "2"
    batch_size = 8
    resources = Resources(num_cpus=1, device_class=None)
    upstream = ("densepose", "parse")
    context_params = ("reuse_annotations",)

    def needs_columns(self) -> list[str]:
        return ["dataset", *sorted({c for maps in SHIPPED_MAPS.values() for c in maps})]

    def needs(self, upstream: str, rows: pa.Table) -> np.ndarray:
        """A person needs a producer unless the dataset ships every map it would provide."""
        provides = {m[2] for m in INPUT_MAPS if m[3] == upstream}
        if not self.context.reuse_annotations or not provides:
            return np.ones(rows.num_rows, dtype=bool)
        return np.array([not provides <= shipped_maps(row) for row in rows.to_pylist()], dtype=bool)

    def _dataset_maps(self, row: dict[str, Any], shape: tuple[int, int]) -> dict[str, np.ndarray]:
        """The maps the dataset's annotations give for this person, at the image's size."""
        if not self.context.reuse_annotations:
            return {}
        maps = {}
        for column, (kind, converters) in SHIPPED_MAPS.get(row.get("dataset"), {}).items():
            path = row.get(column)
            if not path or not os.path.isfile(path):
                continue
            image = load_rgb(path) if kind == "rgb" else load_labels(path)
            for name, convert in converters.items():
                try:
                    labels = convert(image)
                except ValueError as exc:
                    raise RowError("bad_annotation", f"{path}: {exc}") from None
                _check_range(labels, name, path, "bad_annotation")
                maps[name] = resize_labels(labels, shape)
        return maps

    def _stage_map(self, row: dict[str, Any], input_map: tuple[str, str, str, str]) -> np.ndarray:
        """One INPUT_MAPS entry as the densepose or parse stage wrote it for this person."""
        folder, suffix, name, stage = input_map
        path = os.path.join(self.out_dir, item_path(row["group"], folder, row["stem"], suffix))
        if not os.path.exists(path):
            raise RowError("missing_input", f"{path} does not exist: run `vtonpipe {stage}` first "
                                            f"(if it ran, its manifest row for this person says why it failed)")
        labels = load_labels(path)
        _check_range(labels, name, path, "bad_labels")
        return labels

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        group, stem, cloth_type = row["group"], row["stem"], row.get("cloth_type")
        if cloth_type not in CLOTH_TYPES:
            raise RowError("bad_cloth_type", f"cloth_type {cloth_type!r} is not one of {CLOTH_TYPES}")
        person = load_rgb(row["image"])
        maps = self._dataset_maps(row, person.shape[:2])
        sources = {name: DATASET for name in maps}
        for input_map in INPUT_MAPS:
            name, stage = input_map[2:]
            if name not in maps:
                maps[name] = self._stage_map(row, input_map)
                sources[name] = stage
        sizes = {name: m.shape for name, m in maps.items()} | {"image": person.shape[:2]}
        if len(set(sizes.values())) != 1:
            raise RowError("size_mismatch", f"image and maps differ in size: {sizes}")

        mask = agnostic_mask(maps["densepose"], maps["lip"], maps["atr"], cloth_type)
        if not mask.any():
            raise RowError("empty_mask", f"no {cloth_type} garment region found on {row[self.key]}")
        mask_rel = agnostic_mask_path(group, stem)
        agnostic_rel = item_path(group, "agnostic-v3.2", stem, ".jpg")
        atomic_save_image(os.path.join(self.out_dir, mask_rel), mask)
        atomic_save_image(os.path.join(self.out_dir, agnostic_rel), agnostic_image(person, mask))
        return {
            "mask_path": mask_rel,
            "agnostic_path": agnostic_rel,
            "cloth_type": cloth_type,
            "mask_rle": encode_rle(mask),
            "sources": ",".join(f"{name}={sources[name]}" for name in ("lip", "atr", "densepose")),
        }
