"""The cloth-mask stage: per garment photo, a binary garment mask written as VITON-HD does
(<group>/cloth-mask/<stem>.jpg, white garment on black) and as a COCO RLE column.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_save_image
from vtonpipe.datasets.images import load_rgb
from vtonpipe.errors import RowError
from vtonpipe.manifests.layout import item_path
from vtonpipe.masks.cloth import NoGarmentError, cloth_mask
from vtonpipe.masks.rle import encode_rle
from vtonpipe.stages.base import Resources, Stage
from vtonpipe.stages.options import option


@dataclass(frozen=True)
class ClothMaskOptions:
    grabcut: bool = option(False, "refine each cloth mask with GrabCut (slower)", result=True)


class ClothMaskStage(Stage):
    """Cloth masks of in-shop garment photos: <group>/cloth-mask/<stem>.jpg plus a COCO RLE column."""

    name = "cloth-mask"
    input = "garments"
    key = "garment_id"
    columns: ClassVar[list[pa.Field]] = [
        pa.field("cloth_mask_path", pa.string()),
        pa.field("mask_rle", pa.string()),
    ]
    version = "1"
    batch_size = 8
    resources = Resources(num_cpus=1, device_class=None)
    Options = ClothMaskOptions

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        image = load_rgb(row["image"])
        try:
            mask = cloth_mask(image, grabcut=self.options.grabcut)
        except NoGarmentError as exc:
            raise RowError("no_garment", f"{row[self.key]}: {exc}") from None
        rel = item_path(row["group"], "cloth-mask", row["stem"], ".jpg")
        atomic_save_image(os.path.join(self.out_dir, rel), mask.astype(np.uint8) * 255)
        return {"cloth_mask_path": rel, "mask_rle": encode_rle(mask)}
