"""Stage `tryon`: pairs + agnostic masks -> results/<model>/<mode>/<person>__<garment>.png.

The mask comes from the pair's dataset annotation when `reuse_annotations` is set and the file
exists, else from the masks stage (<person_group>/agnostic-mask/<person_stem>_mask.png). Each
pair's noise is seeded from (run seed, pair_id), so results do not depend on batching or order.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from vtonpipe.datasets.images import load_labels, load_rgb
from vtonpipe.errors import ConfigError, ModelFilesError, RowError
from vtonpipe.atomic import atomic_save_image
from vtonpipe.manifests.layout import item_path, result_path
from vtonpipe.models.common.seeds import row_seed
from vtonpipe.stages.base import Resources, Stage

MODELS = ("catvton",)


class TryonStage(Stage):
    """Try-on renders of every pair with CatVTON on OpenVINO: results/<model>/<mode>/<person>__<garment>.png."""

    name = "tryon"
    input = "pairs"
    key = "pair_id"
    version = "1"
    batch_size = 4
    resources = Resources(num_cpus=1, device_class="cpu")
    columns = [
        pa.field("result_path", pa.string()),
        pa.field("seed", pa.int64()),
        pa.field("steps", pa.int32()),
        pa.field("guidance_scale", pa.float32()),
        pa.field("height", pa.int32()),
        pa.field("width", pa.int32()),
        pa.field("latency_ms", pa.float64()),
    ]
    cli_options: ClassVar[list[tuple[tuple[str, ...], dict]]] = [
        (("--model",), dict(choices=MODELS, default="catvton", help="try-on model (default: catvton)")),
        (("--steps",), dict(type=int, default=50, help="denoising steps (default: 50)")),
        (("--guidance-scale",), dict(type=float, default=2.5, help="classifier-free guidance (default: 2.5)")),
        (("--eta",), dict(type=float, default=1.0, help="DDIM eta: 0 deterministic, 1 CatVTON's default")),
        (("--repaint",), dict(action="store_true", help="paste the person back outside the blurred mask")),
    ]

    def option(self, name: str, default: Any) -> Any:
        """An option, with `default` when it is absent or None (argparse leaves unset flags None)."""
        value = self.options.get(name)
        return default if value is None else value

    @property
    def model(self) -> str:
        model = self.options.get("model") or "catvton"
        if model not in MODELS:
            raise ConfigError(f"unknown try-on model {model!r}; choose one of {', '.join(MODELS)}")
        return model

    def ir_dir(self) -> Path:
        return self.model_folder("ir", self.model)

    def check(self) -> None:
        from vtonpipe.models.common.ir import read_ir

        ir = self.ir_dir()
        if not ir.is_dir():
            raise ModelFilesError(
                f"no {self.model} IR folder at {ir}: build it with `vtonpipe models convert {self.model} "
                f"--weights DIR --out {ir}` (or `vtonpipe models tiny {self.model}` for the test preset)"
            )
        read_ir(ir, self.model)
        self.upstream = {"masks": self.ok_keys("masks")}

    def setup(self, device: str) -> None:
        from vtonpipe.models.catvton.runtime import CatVTONRuntime

        super().setup(device)
        self.check()
        self.runtime = CatVTONRuntime(
            self.ir_dir(), device, threads=self.options.get("threads"), cache_dir=self.options.get("cache_dir")
        )
        self.model_id = self.runtime.model_id

    def mask_path(self, row: dict[str, Any]) -> str:
        annotation = row.get("ann_agnostic_mask")
        if self.options.get("reuse_annotations") and annotation and os.path.isfile(annotation):
            return annotation
        ready = self.upstream.get("masks")
        if ready is not None and row["person_id"] not in ready:
            raise RowError("missing_input", f"the masks manifest has no ok row for {row['person_id']} (see its error)")
        rel = item_path(row["person_group"], "agnostic-mask", f"{row['person_stem']}_mask", ".png")
        path = os.path.join(self.out_dir, rel)
        if not os.path.isfile(path):
            raise RowError("missing_input", f"no agnostic mask {rel} for {row['person_id']}: run `vtonpipe masks` first")
        return path

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        mask = load_labels(self.mask_path(row))
        person = load_rgb(row["person_image"])
        garment = load_rgb(row["garment_image"])
        if person.shape[:2] != mask.shape:
            raise RowError("size_mismatch", f"mask {mask.shape} does not match person image {person.shape[:2]}")
        if not mask.any():
            raise RowError("empty_mask", f"agnostic mask of {row['person_id']} is empty: nothing to try on")
        seed = row_seed(int(self.option("seed", 0)), row["pair_id"])
        steps = int(self.option("steps", 50))
        guidance = float(self.option("guidance_scale", 2.5))
        start = time.perf_counter()
        image = self.runtime(
            person, garment, mask, steps=steps, guidance_scale=guidance, eta=float(self.option("eta", 1.0)),
            seed=seed, repaint=bool(self.option("repaint", False)),
        )
        latency_ms = (time.perf_counter() - start) * 1000.0
        rel = result_path(self.model, row["mode"], row["person_stem"], row["garment_stem"])
        atomic_save_image(os.path.join(self.out_dir, rel), image)
        return {
            "result_path": rel,
            "seed": seed,
            "steps": steps,
            "guidance_scale": guidance,
            "height": self.runtime.height,
            "width": self.runtime.width,
            "latency_ms": latency_ms,
        }
