"""Stage `tryon`: pairs + agnostic masks -> results/<model>/<split>/<mode>/<person>__<garment>.png,
recorded in the manifest tryon-<model> (models render the same pairs side by side).

The mask comes from the pair's dataset annotation when `reuse_annotations` is set and the pair
has one, else from the masks stage (<person_group>/agnostic-mask/<person_stem>_mask.png). Pairs
are rendered in groups of the IR's batch (an IR converted with --batch B renders B pairs per UNet
call). Each pair's noise is seeded from (run seed, pair_id), so results do not depend on batching,
actor count or order. Weights licence: CatVTON's weights are non-commercial (CC BY-NC-SA 4.0).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_save_image
from vtonpipe.datasets.images import load_labels, load_rgb
from vtonpipe.errors import RowError
from vtonpipe.manifests.layout import agnostic_mask_path, result_path, tryon_manifest
from vtonpipe.stages.base import Resources, Stage, capture_row_error
from vtonpipe.stages.options import option
from vtonpipe.stages.seeds import row_seed

MODELS = ("catvton",)


@dataclass(frozen=True)
class TryonOptions:
    model: str = option("catvton", "try-on model (weights licences: see `vtonpipe models list`)", choices=MODELS)
    model_ir: str | None = option(None, "IR folder of the try-on model (default: <models-dir>/<model>)", path=True)
    steps: int = option(50, "denoising steps", minimum=1, maximum=1000, result=True)
    guidance_scale: float = option(2.5, "classifier-free guidance; <= 1 turns it off", minimum=0.0, result=True)
    eta: float = option(1.0, "DDIM eta: 0 deterministic, 1 CatVTON's default", minimum=0.0, maximum=1.0, result=True)
    repaint: bool = option(False, "paste the person back outside the blurred mask (CatVTON's evaluation)",
                           result=True)


def result_split(row: dict[str, Any]) -> str:
    """The split a pair's result is filed under: the pair's split, else its person group (catalog)."""
    return row.get("split") or row["person_group"]


class TryonStage(Stage):
    """Try-on renders of every pair (CatVTON on OpenVINO): results/<model>/<split>/<mode>/<person>__<garment>.png."""

    name = "tryon"
    input = "pairs"
    key = "pair_id"
    upstream = ("masks",)
    version = "2"
    batch_size = 1
    resources = Resources(num_cpus=1, device_class="cpu")
    Options = TryonOptions
    context_params = ("seed", "reuse_annotations")
    columns: ClassVar[list[pa.Field]] = [
        pa.field("result_path", pa.string()),
        pa.field("seed", pa.int64()),
        pa.field("steps", pa.int32()),
        pa.field("guidance_scale", pa.float32()),
        pa.field("height", pa.int32()),
        pa.field("width", pa.int32()),
        pa.field("latency_ms", pa.float64()),
    ]

    @property
    def manifest(self) -> str:
        return tryon_manifest(self.options.model)

    def ir_dir(self) -> Path:
        return self.model_folder(self.options.model_ir, self.options.model)

    def check(self) -> None:
        from vtonpipe.models.common.ir import read_ir

        info = read_ir(self.ir_dir(), self.options.model)
        self.model_id = info.model_id
        # One batch of rows = one IR batch: rows stream back as soon as their batch is rendered.
        self.batch_size = max(1, int(info.param("batch")))

    def needs_columns(self) -> list[str]:
        return ["ann_agnostic_mask"]

    def needs(self, upstream: str, rows: pa.Table) -> np.ndarray:
        """A pair needs the masks stage unless the dataset ships its agnostic mask (and reuse is on)."""
        if not self.context.reuse_annotations:
            return np.ones(rows.num_rows, dtype=bool)
        return np.array([not a for a in rows["ann_agnostic_mask"].to_pylist()], dtype=bool)

    def setup(self, device: str) -> None:
        from vtonpipe.models.families import runtime_class

        super().setup(device)
        self.runtime = runtime_class(self.options.model)(
            self.ir_dir(), device, threads=self.context.threads, cache_dir=self.context.cache_dir)
        self.model_id = self.runtime.model_id

    def mask_path(self, row: dict[str, Any]) -> str:
        annotation = row.get("ann_agnostic_mask")
        if self.context.reuse_annotations and annotation:
            return annotation
        rel = agnostic_mask_path(row["person_group"], row["person_stem"])
        path = os.path.join(self.out_dir, rel)
        if not os.path.isfile(path):
            raise RowError("missing_input", f"no agnostic mask {rel} for {row['person_id']}: run `vtonpipe masks` first")
        return path

    def load_pair(self, row: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mask = load_labels(self.mask_path(row))
        person = load_rgb(row["person_image"])
        garment = load_rgb(row["garment_image"])
        if person.shape[:2] != mask.shape:
            raise RowError("size_mismatch", f"mask {mask.shape} does not match person image {person.shape[:2]}")
        if not mask.any():
            raise RowError("empty_mask", f"agnostic mask of {row['person_id']} is empty: nothing to try on")
        return person, garment, mask

    def process_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any] | RowError]:
        loaded = [capture_row_error(self.load_pair, row) for row in rows]
        good = [i for i, item in enumerate(loaded) if not isinstance(item, RowError)]
        results: list[dict[str, Any] | RowError] = list(loaded)
        if not good:
            return results
        o = self.options
        seeds = [row_seed(self.context.seed, rows[i]["pair_id"]) for i in good]
        start = time.perf_counter()
        images = self.runtime.generate(
            [loaded[i][0] for i in good], [loaded[i][1] for i in good], [loaded[i][2] for i in good], seeds=seeds,
            steps=o.steps, guidance_scale=o.guidance_scale, eta=o.eta, repaint=o.repaint,
        )
        latency_ms = (time.perf_counter() - start) * 1000.0 / len(good)
        for i, seed, image in zip(good, seeds, images):
            row = rows[i]
            rel = result_path(o.model, result_split(row), row["mode"], row["person_stem"], row["garment_stem"])
            atomic_save_image(os.path.join(self.out_dir, rel), image)
            results[i] = {"result_path": rel, "seed": seed, "steps": o.steps, "guidance_scale": o.guidance_scale,
                          "height": self.runtime.height, "width": self.runtime.width, "latency_ms": latency_ms}
        return results
