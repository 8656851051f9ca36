"""The densepose stage: per-person DensePose part maps, their parula rendering, box, score, mask RLE.

Writes ``<group>/densepose-parts/<stem>.png`` (uint8 part ids 0-24, lossless) and
``<group>/image-densepose/<stem>.jpg`` (the VITON-HD/StableVITON rendering). No person above
``score_threshold`` gives a "no_person" error row, never an all-zero map. With
``reuse_annotations`` a DressCode part-label PNG shipped with the dataset (``ann_densepose``) is
used instead of the model; its row has no score and its box is the extent of the labelled pixels.
Reuse follows the run-wide ``reuse_annotations`` (on unless ``--no-reuse-annotations``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_save_image
from vtonpipe.datasets.images import load_bgr, load_labels, resize_labels
from vtonpipe.errors import RowError
from vtonpipe.labels.densepose import NUM_PARTS, render_parts
from vtonpipe.manifests.layout import item_path
from vtonpipe.masks.rle import encode_rle
from vtonpipe.stages.base import Resources, Stage
from vtonpipe.stages.options import option

FAMILY = "densepose"
PARTS_FOLDER = "densepose-parts"
RENDER_FOLDER = "image-densepose"


def mask_box(parts: np.ndarray) -> list[float]:
    """x0, y0, x1, y1 (exclusive) of the labelled pixels."""
    ys, xs = np.nonzero(parts)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def annotation_parts(path: str, height: int, width: int) -> np.ndarray:
    """A DressCode dense/<id>_5.png label map, checked and brought to the image size (nearest)."""
    parts = load_labels(path)
    if parts.max(initial=0) > NUM_PARTS:
        raise RowError("bad_annotation", f"{path}: values up to {parts.max()} are not DensePose part ids 0-24")
    return resize_labels(parts, (height, width))


def is_part_label_png(path: str | None) -> bool:
    """DressCode ships part labels as PNG; VITON-HD's image-densepose JPEGs are renderings, not labels."""
    return bool(path) and Path(path).suffix.lower() == ".png"


@dataclass(frozen=True)
class DensePoseOptions:
    densepose_ir: str | None = option(None, "DensePose IR folder (default: <models-dir>/densepose)", path=True)
    score_threshold: float = option(0.8, "minimum person score (detectron2 keeps score > threshold)",
                                    minimum=0.0, maximum=1.0, result=True)
    pad_mode: str = option("exact", "exact: pad to /32 like detectron2 (compiles per input size); canvas: pad "
                           "into the IR's static canvas (one compile)", choices=("exact", "canvas"), result=True)


class DensePoseStage(Stage):
    """DensePose R50-FPN part maps (densepose-parts/, image-densepose/), box, score and person RLE."""

    name: ClassVar[str] = "densepose"
    input: ClassVar[str] = "persons"
    key: ClassVar[str] = "person_id"
    columns: ClassVar[list[pa.Field]] = [
        pa.field("parts_path", pa.string()),
        pa.field("densepose_path", pa.string()),
        pa.field("box", pa.list_(pa.float64())),
        pa.field("score", pa.float64()),
        pa.field("person_rle", pa.string()),
    ]
    version: ClassVar[str] = "1"
    batch_size: ClassVar[int] = 4
    resources = Resources(num_cpus=1, device_class="cpu")
    Options = DensePoseOptions
    context_params = ("reuse_annotations",)

    def ir_dir(self) -> Path:
        return self.model_folder(self.options.densepose_ir, FAMILY)

    def check(self) -> None:
        from vtonpipe.models.common.ir import read_ir

        self.model_id = read_ir(self.ir_dir(), FAMILY).model_id

    def setup(self, device: str) -> None:
        from vtonpipe.models.densepose.runtime import DensePoseRuntime

        super().setup(device)
        self.runtime = DensePoseRuntime(
            self.ir_dir(), device, threads=self.context.threads, cache_dir=self.context.cache_dir,
            score_threshold=self.options.score_threshold, pad_mode=self.options.pad_mode,
        )
        self.model_id = self.runtime.model_id

    def _predict(self, row: dict[str, Any]) -> tuple[np.ndarray, list[float], float | None]:
        from vtonpipe.models.densepose.runtime import CanvasTooSmall

        if self.context.reuse_annotations and is_part_label_png(row.get("ann_densepose")):
            parts = annotation_parts(row["ann_densepose"], int(row["height"]), int(row["width"]))
            if not parts.any():
                raise RowError("empty_densepose", f"{row['ann_densepose']}: annotation has no labelled pixel")
            return parts, mask_box(parts), None
        try:
            result = self.runtime(load_bgr(row["image"]))
        except CanvasTooSmall as exc:
            raise RowError("canvas_too_small", f"{row['image']}: {exc}") from None
        if result is None:
            raise RowError(
                "no_person",
                f"no person detected above score {self.runtime.score_threshold} in {row['image']}",
            )
        if not result.parts.any():
            raise RowError("empty_densepose", f"person found (score {result.score:.3f}) but no body part labelled")
        return result.parts, list(result.box), result.score

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        parts, box, score = self._predict(row)
        group, stem = row["group"], row["stem"]
        parts_rel = item_path(group, PARTS_FOLDER, stem, ".png")
        render_rel = item_path(group, RENDER_FOLDER, stem, ".jpg")
        atomic_save_image(os.path.join(self.out_dir, parts_rel), parts)
        atomic_save_image(os.path.join(self.out_dir, render_rel), render_parts(parts))
        return {
            "parts_path": parts_rel,
            "densepose_path": render_rel,
            "box": box,
            "score": score,
            "person_rle": encode_rle(parts > 0),
        }
