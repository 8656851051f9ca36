"""What each try-on model reads per pair and how the tryon stage renders a batch with it.

| model       | reads per pair (dataset file when reused, else the stage's output)                | stages |
|-------------|-----------------------------------------------------------------------------------|--------|
| catvton     | person, garment, agnostic-mask                                                     | masks |
| stableviton | person, garment, agnostic-v3.2 + agnostic-mask (both), image-densepose             | masks, densepose |
| dmvton      | person, garment, cloth-mask                                                        | cloth-mask |
| pfafn       | person, garment, cloth-mask                                                        | cloth-mask |

A shipped file is used when `reuse_annotations` is on and the pair row names it (VITON-HD ships
agnostic-mask, agnostic-v3.2, image-densepose, cloth-mask); StableVITON takes the agnostic image
and mask from one source, so they always agree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vtonpipe.datasets.images import load_labels, load_rgb
from vtonpipe.errors import RowError
from vtonpipe.manifests.layout import agnostic_mask_path, item_path

Inputs = tuple[np.ndarray, ...]


def _file(out_dir: str, rel: str, stage: str, row: dict[str, Any]) -> str:
    path = os.path.join(out_dir, rel)
    if not os.path.isfile(path):
        raise RowError("missing_input", f"no {rel} for {row['pair_id']}: run `vtonpipe {stage}` first")
    return path


def _mask(path: str, person: np.ndarray, what: str, row: dict[str, Any]) -> np.ndarray:
    mask = load_labels(path)
    if mask.shape != person.shape[:2]:
        raise RowError("size_mismatch", f"{what} {mask.shape} does not match person image {person.shape[:2]}")
    if not mask.any():
        raise RowError("empty_mask", f"{what} of {row['pair_id']} is empty: nothing to try on")
    return mask


def ships_rendering(row: dict[str, Any]) -> bool:
    """The dataset ships the person's image-densepose rendering (VITON-HD's JPEGs; DressCode ships labels)."""
    return (row.get("ann_densepose") or "").lower().endswith(".jpg")


def _rendering_shipped(rows: pa.Table) -> np.ndarray:
    return pc.fill_null(pc.ends_with(pc.utf8_lower(rows["ann_densepose"]), ".jpg"), False).to_numpy(zero_copy_only=False)


def _ships(*columns: str) -> Callable[[pa.Table], np.ndarray]:
    """Rows whose pair names every one of `columns` (a non-empty path)."""
    def shipped(rows: pa.Table) -> np.ndarray:
        out = np.ones(rows.num_rows, dtype=bool)
        for column in columns:
            out &= pc.fill_null(pc.greater(pc.utf8_length(rows[column]), 0), False).to_numpy(zero_copy_only=False)
        return out
    return shipped


def agnostic_mask_file(row: dict[str, Any], out_dir: str, reuse: bool) -> str:
    if reuse and row.get("ann_agnostic_mask"):
        return row["ann_agnostic_mask"]
    return _file(out_dir, agnostic_mask_path(row["person_group"], row["person_stem"]), "masks", row)


def catvton_inputs(row: dict[str, Any], out_dir: str, reuse: bool) -> Inputs:
    person, garment = load_rgb(row["person_image"]), load_rgb(row["garment_image"])
    return person, garment, _mask(agnostic_mask_file(row, out_dir, reuse), person, "agnostic mask", row)


def stableviton_inputs(row: dict[str, Any], out_dir: str, reuse: bool) -> Inputs:
    person, garment = load_rgb(row["person_image"]), load_rgb(row["garment_image"])
    group, stem = row["person_group"], row["person_stem"]
    if reuse and row.get("ann_agnostic") and row.get("ann_agnostic_mask"):
        agnostic_file, mask_file = row["ann_agnostic"], row["ann_agnostic_mask"]
    else:
        agnostic_file = _file(out_dir, item_path(group, "agnostic-v3.2", stem, ".jpg"), "masks", row)
        mask_file = _file(out_dir, agnostic_mask_path(group, stem), "masks", row)
    densepose_file = row["ann_densepose"] if reuse and ships_rendering(row) else \
        _file(out_dir, item_path(group, "image-densepose", stem, ".jpg"), "densepose", row)
    agnostic, densepose = load_rgb(agnostic_file), load_rgb(densepose_file)
    for name, image in (("agnostic image", agnostic), ("DensePose image", densepose)):
        if image.shape != person.shape:
            raise RowError("size_mismatch", f"{name} {image.shape[:2]} does not match person image {person.shape[:2]}")
    return person, agnostic, _mask(mask_file, person, "agnostic mask", row), densepose, garment


def parser_free_inputs(row: dict[str, Any], out_dir: str, reuse: bool) -> Inputs:
    person, garment = load_rgb(row["person_image"]), load_rgb(row["garment_image"])
    if reuse and row.get("ann_cloth_mask"):
        mask_file = row["ann_cloth_mask"]
    else:
        mask_file = _file(out_dir, item_path(row["garment_group"], "cloth-mask", row["garment_stem"], ".jpg"),
                          "cloth-mask", row)
    return person, garment, _mask(mask_file, garment, "cloth mask", row)


@dataclass(frozen=True)
class TryonModel:
    """One try-on model as the tryon stage drives it."""

    name: str
    upstream: tuple[str, ...]  # stage manifests it reads
    shipped: dict[str, Callable[[pa.Table], np.ndarray]]  # upstream -> per pair row: the dataset ships it
    inputs: Callable[[dict[str, Any], str, bool], Inputs]
    steps: int | None  # default denoising steps; None: a single forward pass
    guidance_scale: float | None

    def needs(self, upstream: str, rows: pa.Table, reuse: bool) -> np.ndarray:
        """Per pair row: does this model read `upstream`'s output for it?"""
        if upstream not in self.upstream:
            return np.zeros(rows.num_rows, dtype=bool)
        if not reuse:
            return np.ones(rows.num_rows, dtype=bool)
        return ~self.shipped[upstream](rows)


MODELS = {
    "catvton": TryonModel("catvton", ("masks",), {"masks": _ships("ann_agnostic_mask")}, catvton_inputs, 50, 2.5),
    "stableviton": TryonModel("stableviton", ("masks", "densepose"),
                              {"masks": _ships("ann_agnostic", "ann_agnostic_mask"), "densepose": _rendering_shipped},
                              stableviton_inputs, 50, 1.0),
    "dmvton": TryonModel("dmvton", ("cloth-mask",), {"cloth-mask": _ships("ann_cloth_mask")}, parser_free_inputs,
                         None, None),
    "pfafn": TryonModel("pfafn", ("cloth-mask",), {"cloth-mask": _ships("ann_cloth_mask")}, parser_free_inputs,
                        None, None),
}


def transpose(inputs: Sequence[Inputs]) -> list[list[np.ndarray]]:
    """Per-pair input tuples -> one list per runtime argument."""
    return [list(column) for column in zip(*inputs)]
