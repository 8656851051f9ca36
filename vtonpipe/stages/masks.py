"""The masks stage: per person, the agnostic image and mask by the recipe a try-on model was
trained with (vtonpipe.masks.recipes: catvton, hrviton, vitonhd, ootd).

Writes <group>/agnostic-mask/<stem>_mask.png (0/255, white = the region to generate),
<group>/agnostic-v3.2/<stem>.jpg (the person painted gray there) and, for the VITON-HD recipes,
<group>/image-parse-agnostic-v3.2/<stem>.png (CIHP labels in VITON-HD's palette).

The recipe defaults to the configured try-on model's (catvton -> catvton, stableviton ->
hrviton). Each map a recipe reads (DensePose parts, SCHP LIP/ATR, CIHP, pose) comes from the
dataset's own annotations when ``reuse_annotations`` is on and the person has a usable one
(VITON-HD: image-parse-v3, image-densepose, openpose_json; DressCode: label_maps, dense), else
from what the densepose, parse and pose stages wrote. The ``sources`` column records which. A
shipped file that exists but cannot be read or decoded is an error row, not a fallback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_save_image
from vtonpipe.datasets.images import load_labels, load_rgb, resize_labels
from vtonpipe.errors import RowError
from vtonpipe.labels.lookup import NUM_CLASSES
from vtonpipe.labels.parsing import CIHP, CIHP_PALETTE
from vtonpipe.manifests.layout import agnostic_mask_path, item_path
from vtonpipe.masks.agnostic import CLOTH_TYPES
from vtonpipe.masks.annotations import SHIPPED_MAPS, pose_xy
from vtonpipe.masks.recipes import MODEL_RECIPES, RECIPES, paint
from vtonpipe.masks.rle import encode_rle
from vtonpipe.stages.base import Resources, Stage
from vtonpipe.stages.options import option

# map -> (folder, suffix, the stage that writes it)
STAGE_MAPS = {
    "densepose": ("densepose-parts", ".png", "densepose"),
    "lip": ("image-parse-lip", ".png", "parse"),
    "atr": ("image-parse-atr", ".png", "parse"),
    "cihp": ("image-parse-v3", ".png", "parse"),
    "pose": ("openpose_json", "_keypoints.json", "pose"),
}
MAP_ORDER = ("lip", "atr", "densepose", "cihp", "pose")
LABEL_COUNTS = {**NUM_CLASSES, "cihp": CIHP.num_classes}
DATASET = "dataset"


def shipped_maps(row: dict[str, Any]) -> set[str]:
    """Names of the maps this person's dataset annotations provide."""
    names: set[str] = set()
    for column, (_, converters) in SHIPPED_MAPS.get(row.get("dataset"), {}).items():
        if row.get(column):
            names.update(converters)
    return names


def _check_range(labels: np.ndarray, name: str, path: str, error_type: str) -> None:
    if name in LABEL_COUNTS and labels.max(initial=0) >= LABEL_COUNTS[name]:
        raise RowError(error_type, f"{path}: label {labels.max()} is not a {name} class (0-{LABEL_COUNTS[name] - 1})")


@dataclass(frozen=True)
class MasksOptions:
    recipe: str | None = option(None, "agnostic recipe (default: the configured try-on model's: catvton -> catvton, "
                                "stableviton -> hrviton)", choices=tuple(RECIPES))


class MasksStage(Stage):
    """Agnostic masks and images by each try-on model's recipe (agnostic-mask/, agnostic-v3.2/)."""

    name = "masks"
    input = "persons"
    key = "person_id"
    columns: ClassVar[list[pa.Field]] = [
        pa.field("mask_path", pa.string()),
        pa.field("agnostic_path", pa.string()),
        pa.field("parse_agnostic_path", pa.string()),
        pa.field("recipe", pa.string()),
        pa.field("cloth_type", pa.string()),
        pa.field("mask_rle", pa.string()),
        pa.field("sources", pa.string()),
    ]
    version = "3"
    batch_size = 8
    resources = Resources(num_cpus=1, device_class=None)
    upstream = ("densepose", "parse", "pose")  # this instance's: the producers of its recipe's maps
    Options = MasksOptions
    context_params = ("reuse_annotations",)

    def __init__(self, context, options=None):
        super().__init__(context, options)
        self.recipe = self.options.recipe or MODEL_RECIPES.get(context.tryon_model, "catvton")
        producers = {STAGE_MAPS[m][2] for m in RECIPES[self.recipe].maps}
        self.upstream = tuple(s for s in type(self).upstream if s in producers)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "recipe": self.recipe}

    def needs_columns(self) -> list[str]:
        return ["dataset", *sorted({c for maps in SHIPPED_MAPS.values() for c in maps})]

    def needs(self, upstream: str, rows: pa.Table) -> np.ndarray:
        """A person needs a producer for the maps its recipe reads, unless the dataset ships them."""
        wanted = {m for m in RECIPES[self.recipe].maps if STAGE_MAPS[m][2] == upstream}
        if not wanted:
            return np.zeros(rows.num_rows, dtype=bool)
        if not self.context.reuse_annotations:
            return np.ones(rows.num_rows, dtype=bool)
        return np.array([not wanted <= shipped_maps(row) for row in rows.to_pylist()], dtype=bool)

    def _dataset_maps(self, row: dict[str, Any], shape: tuple[int, int], wanted: set[str]) -> dict[str, np.ndarray]:
        """The wanted maps the dataset's annotations give for this person, at the image's size."""
        if not self.context.reuse_annotations:
            return {}
        maps = {}
        for column, (kind, converters) in SHIPPED_MAPS.get(row.get("dataset"), {}).items():
            path = row.get(column)
            names = wanted & set(converters)
            if not path or not names or not os.path.isfile(path):
                continue
            source = path if kind == "path" else load_rgb(path) if kind == "rgb" else load_labels(path)
            for name in names:
                try:
                    labels = converters[name](source)
                except ValueError as exc:
                    raise RowError("bad_annotation", f"{path}: {exc}") from None
                if name != "pose":
                    _check_range(labels, name, path, "bad_annotation")
                    labels = resize_labels(labels, shape)
                maps[name] = labels
        return maps

    def _stage_map(self, row: dict[str, Any], name: str) -> np.ndarray:
        """One map as the densepose, parse or pose stage wrote it for this person."""
        folder, suffix, stage = STAGE_MAPS[name]
        path = os.path.join(self.out_dir, item_path(row["group"], folder, row["stem"], suffix))
        if not os.path.exists(path):
            raise RowError("missing_input", f"{path} does not exist: run `vtonpipe {stage}` first "
                                            f"(if it ran, its manifest row for this person says why it failed)")
        if name == "pose":
            return pose_xy(path)
        labels = load_labels(path)
        _check_range(labels, name, path, "bad_labels")
        return labels

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        group, stem, cloth_type = row["group"], row["stem"], row.get("cloth_type")
        if cloth_type not in CLOTH_TYPES:
            raise RowError("bad_cloth_type", f"cloth_type {cloth_type!r} is not one of {CLOTH_TYPES}")
        person = load_rgb(row["image"])
        wanted = set(RECIPES[self.recipe].maps)
        maps = self._dataset_maps(row, person.shape[:2], wanted)
        sources = {name: DATASET for name in maps}
        for name in (m for m in MAP_ORDER if m in wanted and m not in maps):
            maps[name] = self._stage_map(row, name)
            sources[name] = STAGE_MAPS[name][2]
        sizes = {name: m.shape for name, m in maps.items() if name != "pose"} | {"image": person.shape[:2]}
        if len(set(sizes.values())) != 1:
            raise RowError("size_mismatch", f"image and maps differ in size: {sizes}")

        result = paint(self.recipe, person, maps, cloth_type, row.get("dataset"))
        mask_rel = agnostic_mask_path(group, stem)
        agnostic_rel = item_path(group, "agnostic-v3.2", stem, ".jpg")
        atomic_save_image(os.path.join(self.out_dir, mask_rel), result.mask)
        atomic_save_image(os.path.join(self.out_dir, agnostic_rel), result.image)
        parse_rel = None
        if result.parse is not None:
            parse_rel = item_path(group, "image-parse-agnostic-v3.2", stem, ".png")
            atomic_save_image(os.path.join(self.out_dir, parse_rel), result.parse, palette=CIHP_PALETTE)
        return {
            "mask_path": mask_rel,
            "agnostic_path": agnostic_rel,
            "parse_agnostic_path": parse_rel,
            "recipe": self.recipe,
            "cloth_type": cloth_type,
            "mask_rle": encode_rle(result.mask > 0),
            "sources": ",".join(f"{name}={sources[name]}" for name in MAP_ORDER if name in sources),
        }
