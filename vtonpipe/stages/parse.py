"""The parse stage: SCHP LIP and ATR label maps for every person.

Writes ``<group>/image-parse-lip/<stem>.png`` and ``<group>/image-parse-atr/<stem>.png`` as
palette PNGs whose pixel values are class ids, and ``<group>/image-parse-v3/<stem>.png``: the
CIHP labels VITON-HD ships, derived from the two (vtonpipe.masks.annotations.cihp_from_schp), in
VITON-HD's palette.

Reusing shipped annotations (option ``reuse_annotations``): only DressCode's ``label_maps`` are
SCHP-ATR maps, so for a DressCode person with an ``ann_parse`` file that file becomes the ATR map
(resized with PIL-style nearest neighbour to the image when its size differs, as DressCode's own
loader does) and LIP still runs, since no dataset ships LIP maps. VITON-HD's ``image-parse-v3`` uses
CIHP labels, which match neither LIP (10 is neck, not jumpsuits) nor ATR, so this stage never
reuses it; the masks stage converts it to LIP and ATR maps itself (vtonpipe/masks/annotations.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_save_image
from vtonpipe.datasets.images import load_bgr, load_labels, resize_labels
from vtonpipe.errors import ModelFilesError, RowError
from vtonpipe.labels.parsing import ATR, CIHP_PALETTE, palette
from vtonpipe.manifests.layout import item_path
from vtonpipe.masks.annotations import cihp_from_schp
from vtonpipe.stages.base import Resources, Stage
from vtonpipe.stages.options import option

FAMILY = "schp"

LIP_FOLDER = "image-parse-lip"
ATR_FOLDER = "image-parse-atr"
CIHP_FOLDER = "image-parse-v3"  # VITON-HD's parse: CIHP ids from LIP + ATR, VITON-HD's palette
# Datasets whose shipped parse maps carry SCHP-ATR labels.
ATR_ANNOTATED = ("dresscode",)


@dataclass(frozen=True)
class ParseOptions:
    lip_ir: str | None = option(None, "SCHP LIP IR folder (default: <models-dir>/schp-lip)", path=True)
    atr_ir: str | None = option(None, "SCHP ATR IR folder (default: <models-dir>/schp-atr)", path=True)


class ParseStage(Stage):
    """SCHP human parsing (LIP + ATR) of every person image."""

    name = "parse"
    input = "persons"
    key = "person_id"
    columns = [
        pa.field("lip_path", pa.string()),
        pa.field("atr_path", pa.string()),
        pa.field("cihp_path", pa.string()),
        pa.field("reused", pa.bool_()),
    ]
    version = "2"
    batch_size = 4
    resources = Resources(num_cpus=1, device_class="cpu")
    Options = ParseOptions
    context_params = ("reuse_annotations",)

    def ir_dir(self, dataset: str) -> Path:
        """IR folder of the LIP or ATR model: option <dataset>_ir, else <models_dir>/schp-<dataset>."""
        return self.model_folder(getattr(self.options, f"{dataset}_ir"), f"schp-{dataset}")

    def check(self) -> None:
        from vtonpipe.models.common.ir import read_ir

        ids = []
        for dataset in ("lip", "atr"):
            ir = self.ir_dir(dataset)
            info = read_ir(ir, FAMILY)
            if info.params.get("dataset") != dataset:
                raise ModelFilesError(
                    f"{ir} holds an SCHP {info.params.get('dataset')!r} model where {dataset!r} is expected; build it "
                    f"with `vtonpipe models convert schp --weights exp-schp-...-{dataset}.pth --out {ir}`"
                )
            ids.append(info.model_id)
        self.model_id = "+".join(ids)

    def setup(self, device: str) -> None:
        from vtonpipe.models.schp.runtime import SCHPRuntime

        super().setup(device)
        opts = dict(threads=self.context.threads, cache_dir=self.context.cache_dir)
        self.lip = SCHPRuntime(self.ir_dir("lip"), device, **opts)
        self.atr = SCHPRuntime(self.ir_dir("atr"), device, **opts)
        self.model_id = f"{self.lip.model_id}+{self.atr.model_id}"

    def _shipped_atr(self, row: dict[str, Any], shape: tuple[int, int]) -> np.ndarray | None:
        """The dataset's ATR map for this person when reuse applies, else None."""
        ann = row.get("ann_parse")
        if not (self.context.reuse_annotations and ann and row.get("dataset") in ATR_ANNOTATED):
            return None
        if not os.path.isfile(ann):
            return None
        labels = load_labels(ann)
        if labels.max() >= ATR.num_classes:
            raise RowError("bad_annotation", f"{ann}: label {int(labels.max())} is outside ATR's {ATR.num_classes} classes")
        return resize_labels(labels, shape)

    def _save(self, group: str, folder: str, stem: str, labels: np.ndarray, palette: list[int]) -> str:
        rel = item_path(group, folder, stem, ".png")
        atomic_save_image(os.path.join(self.out_dir, rel), labels, palette=palette)
        return rel

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        bgr = load_bgr(row["image"])
        if min(bgr.shape[:2]) < 2:
            raise RowError("image_too_small", f"{row['image']}: {bgr.shape[1]}x{bgr.shape[0]} cannot be parsed")
        atr = self._shipped_atr(row, bgr.shape[:2])
        reused = atr is not None
        if atr is None:
            atr = self.atr(bgr)
        lip = self.lip(bgr)
        group, stem = row["group"], row["stem"]
        return {
            "lip_path": self._save(group, LIP_FOLDER, stem, lip, self.lip.palette),
            "atr_path": self._save(group, ATR_FOLDER, stem, atr, palette(ATR.num_classes)),
            "cihp_path": self._save(group, CIHP_FOLDER, stem, cihp_from_schp(lip, atr), CIHP_PALETTE),
            "reused": reused,
        }
