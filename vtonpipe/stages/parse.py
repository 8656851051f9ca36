"""The parse stage: SCHP LIP and ATR label maps for every person.

Writes ``<group>/image-parse-lip/<stem>.png`` and ``<group>/image-parse-atr/<stem>.png`` as
palette PNGs whose pixel values are class ids.

Reusing shipped annotations (option ``reuse_annotations``): only DressCode's ``label_maps`` are
SCHP-ATR maps, so for a DressCode person with an ``ann_parse`` file that file becomes the ATR map
(resized with PIL-style nearest neighbour to the image when its size differs, as DressCode's own
loader does) and LIP still runs, since no dataset ships LIP maps. VITON-HD's ``image-parse-v3`` uses
CIHP labels, which match neither LIP (10 is neck, not jumpsuits) nor ATR, so this stage never
reuses it; the masks stage converts it to LIP and ATR maps itself (vtonpipe/masks/annotations.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.datasets.images import load_bgr, load_labels, resize_labels
from vtonpipe.errors import ModelFilesError, RowError
from vtonpipe.atomic import atomic_save_image
from vtonpipe.manifests.layout import item_path
from vtonpipe.models.common.ir import read_ir
from vtonpipe.models.schp import FAMILY
from vtonpipe.stages.base import Resources, Stage

LIP_FOLDER = "image-parse-lip"
ATR_FOLDER = "image-parse-atr"
# Datasets whose shipped parse maps carry SCHP-ATR labels.
ATR_ANNOTATED = ("dresscode",)


class ParseStage(Stage):
    """SCHP human parsing (LIP + ATR) of every person image."""

    name = "parse"
    input = "persons"
    key = "person_id"
    columns = [
        pa.field("lip_path", pa.string()),
        pa.field("atr_path", pa.string()),
        pa.field("reused", pa.bool_()),
    ]
    version = "1"
    batch_size = 4
    resources = Resources(num_cpus=1, device_class="cpu")
    cli_options: ClassVar[list[tuple[tuple[str, ...], dict]]] = [
        (("--ir-lip",), {"help": "SCHP LIP IR folder (default: <models-dir>/schp-lip)"}),
        (("--ir-atr",), {"help": "SCHP ATR IR folder (default: <models-dir>/schp-atr)"}),
    ]

    def ir_dir(self, dataset: str) -> Path:
        """IR folder of the LIP or ATR model: option ir_<dataset>, else <models_dir>/schp-<dataset>."""
        return self.model_folder(f"ir_{dataset}", f"schp-{dataset}")

    def check(self) -> None:
        for dataset in ("lip", "atr"):
            ir = self.ir_dir(dataset)
            build = (
                f"build it with `vtonpipe models convert schp --weights exp-schp-...-{dataset}.pth --out {ir}`"
            )
            if not ir.is_dir():
                raise ModelFilesError(f"SCHP {dataset.upper()} IR folder {ir} does not exist; {build}")
            try:
                info = read_ir(ir, FAMILY)
            except ModelFilesError as exc:
                raise ModelFilesError(f"{exc}; {build}") from None
            if info.params.get("dataset") != dataset:
                raise ModelFilesError(
                    f"{ir} holds an SCHP {info.get('dataset')!r} model where {dataset!r} is expected; {build}"
                )

    def setup(self, device: str) -> None:
        from vtonpipe.models.schp.runtime import SCHPRuntime

        super().setup(device)
        opts = dict(threads=self.options.get("threads"), cache_dir=self.options.get("cache_dir"))
        self.lip = SCHPRuntime(self.ir_dir("lip"), device, **opts)
        self.atr = SCHPRuntime(self.ir_dir("atr"), device, **opts)
        self.model_id = f"{self.lip.model_id}+{self.atr.model_id}"

    def _shipped_atr(self, row: dict[str, Any], shape: tuple[int, int]) -> np.ndarray | None:
        """The dataset's ATR map for this person when reuse applies, else None."""
        ann = row.get("ann_parse")
        if not (self.options.get("reuse_annotations") and ann and row.get("dataset") in ATR_ANNOTATED):
            return None
        if not os.path.isfile(ann):
            return None
        labels = load_labels(ann)
        if labels.max() >= self.atr.labels.num_classes:
            raise RowError(
                "bad_annotation",
                f"{ann}: label {int(labels.max())} is outside ATR's {self.atr.labels.num_classes} classes",
            )
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
            "atr_path": self._save(group, ATR_FOLDER, stem, atr, self.atr.palette),
            "reused": reused,
        }
