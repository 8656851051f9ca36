"""The `metrics` stage: one row per result of an evaluation, with SSIM and LPIPS against its ground
truth in the paired setting. Its input is the listing manifest `vtonpipe evaluate` writes into
the evaluation's own folder (``pair_id``, ``result``, ``gt`` as absolute paths; ``gt`` may be
null, and with ``--against`` it is the other folder's result of the same pair).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.datasets.images import load_rgb
from vtonpipe.errors import RowError
from vtonpipe.eval.metrics import ssim
from vtonpipe.eval.protocol import person_stem, resize_to_height
from vtonpipe.stages.base import Resources, Stage
from vtonpipe.stages.options import option


@dataclass(frozen=True)
class MetricsOptions:
    paired: bool = option(False, "paired setting: SSIM and LPIPS against each result's ground truth", result=True)
    lpips_ir: str | None = option(None, "LPIPS IR folder (default: <models-dir>/lpips)", path=True)


class MetricsStage(Stage):
    """One metrics row per result: readable result, and in the paired setting SSIM and LPIPS vs. GT."""

    name = "metrics"
    input = "eval-results"
    key = "pair_id"
    columns: ClassVar[list[pa.Field]] = [
        pa.field("result", pa.string()),
        pa.field("gt", pa.string()),
        pa.field("height", pa.int32()),
        pa.field("width", pa.int32()),
        pa.field("ssim", pa.float64()),
        pa.field("lpips", pa.float64()),
    ]
    version = "1"
    batch_size = 8
    resources = Resources(num_cpus=1, device_class="cpu")
    Options = MetricsOptions

    def lpips_dir(self) -> Path:
        return self.model_folder(self.options.lpips_ir, "lpips")

    def check(self) -> None:
        if self.options.paired:
            from vtonpipe.models.common.ir import read_ir

            self.model_id = read_ir(self.lpips_dir(), "lpips").model_id

    def setup(self, device: str) -> None:
        super().setup(device)
        self.lpips = None
        if self.options.paired:
            from vtonpipe.models.lpips.runtime import LpipsRuntime

            self.lpips = LpipsRuntime(self.lpips_dir(), device, threads=self.context.threads,
                                      cache_dir=self.context.cache_dir)
            self.model_id = self.lpips.model_id

    def _relative(self, path: str | None) -> str | None:
        if path is None:
            return None
        rel = os.path.relpath(path, self.out_dir)
        return path if rel.startswith("..") else rel

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        result = load_rgb(row["result"])
        out = {
            "result": self._relative(row["result"]),
            "gt": self._relative(row.get("gt")),
            "height": result.shape[0],
            "width": result.shape[1],
        }
        if self.lpips is None:
            return out
        if row.get("gt") is None:
            raise RowError("missing_gt", f"no ground-truth image with stem {person_stem(Path(row['result']).stem)!r}")
        gt = resize_to_height(load_rgb(row["gt"]), result.shape[0])
        if gt.shape != result.shape:
            raise RowError(
                "size_mismatch",
                f"GT {row['gt']} resized to the result height is {gt.shape[1]} wide, the result {result.shape[1]}",
            )
        out["ssim"] = ssim(result.astype(np.float64) / 255.0, gt.astype(np.float64) / 255.0)
        out["lpips"] = self.lpips.distance(result, gt)
        return out


