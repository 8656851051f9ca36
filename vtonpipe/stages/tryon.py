"""Stage `tryon`: every pair rendered by one try-on model into
results/<model>/<split>/<mode>/<person>__<garment>.png, recorded in the manifest tryon-<model>
(models render the same pairs side by side).

Models (`--model`; what each reads per pair: vtonpipe.stages.tryon_models): CatVTON and StableVITON
(diffusion; steps, guidance, repaint) and the parser-free DM-VTON and PF-AFN (one forward pass;
person, garment and cloth mask only). Every model's official weights are non-commercial.

Pairs are rendered in groups of the IR's batch (an IR converted with --batch B renders B pairs per
call). Each pair's noise is seeded from (run seed, pair_id), so results do not depend on batching,
actor count or order. CatVTON's speed options (sampler, deep-feature cache, shared latents) are
documented in vtonpipe.models.catvton.runtime.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_save_image
from vtonpipe.errors import ConfigError, RowError
from vtonpipe.manifests.layout import result_path, tryon_manifest
from vtonpipe.stages.base import Resources, Stage, capture_row_error
from vtonpipe.stages.options import option
from vtonpipe.stages.seeds import row_seed
from vtonpipe.stages.tryon_models import MODELS, transpose

SAMPLERS = ("ddim", "dpmpp-2m", "dpmpp-2m-karras", "dpmpp-2m-sde")


@dataclass(frozen=True)
class TryonOptions:
    model: str = option("catvton", "try-on model; every model's official weights are non-commercial "
                        "(`vtonpipe models list`)", choices=tuple(MODELS))
    model_ir: str | None = option(None, "IR folder of the try-on model (default: <models-dir>/<model>)", path=True)
    steps: int | None = option(None, "denoising steps (default: the model's, 50)", minimum=1, maximum=1000,
                               result=True)
    guidance_scale: float | None = option(None, "classifier-free guidance, <= 1 turns it off (default: the "
                                          "model's: CatVTON 2.5, StableVITON 1.0)", minimum=0.0, result=True)
    eta: float = option(1.0, "CatVTON DDIM eta: 0 deterministic, 1 CatVTON's default", minimum=0.0, maximum=1.0,
                        result=True)
    sampler: str = option("ddim", "CatVTON sampler: dpmpp-2m reaches DDIM's quality in fewer steps", choices=SAMPLERS,
                          result=True)
    cache_interval: int = option(1, "CatVTON deep-feature cache: run the full UNet every k-th step and reuse its "
                                 "deep features in between", minimum=1, result=True)
    share_latents: bool = option(False, "CatVTON: encode each garment and person once per actor and reuse it "
                                 "(posterior mean: results differ from the default)", result=True)
    repaint: bool = option(False, "paste the person back outside the blurred mask (CatVTON's and StableVITON's "
                           "evaluation)", result=True)


CATVTON_ONLY = ("eta", "sampler", "cache_interval", "share_latents")  # options only CatVTON reads


def result_split(row: dict[str, Any]) -> str:
    """The split a pair's result is filed under: the pair's split, else its person group (catalog)."""
    return row.get("split") or row["person_group"]


class TryonStage(Stage):
    """Try-on renders of every pair: results/<model>/<split>/<mode>/<person>__<garment>.png."""

    name = "tryon"
    input = "pairs"
    key = "pair_id"
    upstream = ("masks", "densepose", "cloth-mask")  # this instance's: what its model reads
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

    def __init__(self, context, options=None):
        super().__init__(context, options)
        self.spec = MODELS[self.options.model]
        self.upstream = self.spec.upstream
        diffusion = self.spec.steps is not None
        self.steps = (self.options.steps or self.spec.steps) if diffusion else None
        guidance = self.options.guidance_scale
        self.guidance_scale = (self.spec.guidance_scale if guidance is None else guidance) if diffusion else None

    @property
    def manifest(self) -> str:
        return tryon_manifest(self.options.model)

    def params(self) -> dict[str, Any]:
        values = {**super().params(), "steps": self.steps, "guidance_scale": self.guidance_scale}
        if self.options.model != "catvton":  # CatVTON's own options do not shape other models' results
            for name in CATVTON_ONLY:
                values.pop(name)
        if self.spec.steps is None:
            values.pop("repaint")
        return values

    def ir_dir(self) -> Path:
        return self.model_folder(self.options.model_ir, self.options.model)

    def check(self) -> None:
        from vtonpipe.models.common.ir import read_ir

        o = self.options
        model = o.model
        defaults = {f.name: f.default for f in fields(TryonOptions)}
        wrong = [name for name in CATVTON_ONLY if model != "catvton" and getattr(o, name) != defaults[name]]
        if self.spec.steps is None:
            wrong += [name for name in ("steps", "guidance_scale") if getattr(o, name) is not None]
            wrong += ["repaint"] if o.repaint else []
        if wrong:
            raise ConfigError(f"tryon: {', '.join(wrong)} does not apply to {model}")
        info = read_ir(self.ir_dir(), model)
        self.model_id = info.model_id
        if model == "stableviton":
            from vtonpipe.models.common.plms import plms_grid

            try:
                plms_grid(self.steps)
            except ValueError as exc:
                raise ConfigError(f"tryon: {exc}") from None
        # One batch of rows = one IR batch: rows stream back as soon as their batch is rendered.
        self.batch_size = max(1, int(info.param("batch")))

    def needs_columns(self) -> list[str]:
        return ["ann_agnostic_mask", "ann_agnostic", "ann_densepose", "ann_cloth_mask"]

    def needs(self, upstream: str, rows: pa.Table) -> np.ndarray:
        """Per pair: does the model read `upstream`'s output (or does the dataset ship it)?"""
        return self.spec.needs(upstream, rows, self.context.reuse_annotations)

    def setup(self, device: str) -> None:
        from vtonpipe.models.families import runtime_class

        super().setup(device)
        self.runtime = runtime_class(self.options.model)(
            self.ir_dir(), device, threads=self.context.threads, cache_dir=self.context.cache_dir)
        self.model_id = self.runtime.model_id

    def _render(self, rows: list[dict[str, Any]], inputs: list[tuple], seeds: list[int]) -> list[np.ndarray]:
        o, model = self.options, self.options.model
        args = transpose(inputs)
        if self.spec.steps is None:
            return self.runtime.generate(*args)
        key = rows[0][self.key]
        common = dict(seeds=seeds, steps=self.steps, guidance_scale=self.guidance_scale, repaint=o.repaint,
                      on_step=lambda step, steps: self.report_step(key, step, steps))
        if model == "stableviton":
            return self.runtime.generate(*args, **common)
        shared = {"person_keys": [r["person_id"] for r in rows], "garment_keys": [r["garment_id"] for r in rows]} \
            if o.share_latents else {}
        return self.runtime.generate(*args, eta=o.eta, sampler=o.sampler, cache_interval=o.cache_interval,
                                     **shared, **common)

    def process_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any] | RowError]:
        reuse = self.context.reuse_annotations
        loaded = [capture_row_error(lambda r: self.spec.inputs(r, self.out_dir, reuse), row) for row in rows]
        good = [i for i, item in enumerate(loaded) if not isinstance(item, RowError)]
        results: list[dict[str, Any] | RowError] = list(loaded)
        if not good:
            return results
        seeds = [row_seed(self.context.seed, rows[i]["pair_id"]) for i in good]
        start = time.perf_counter()
        images = self._render([rows[i] for i in good], [loaded[i] for i in good], seeds)
        latency_ms = (time.perf_counter() - start) * 1000.0 / len(good)
        for i, seed, image in zip(good, seeds, images):
            row = rows[i]
            rel = result_path(self.options.model, result_split(row), row["mode"], row["person_stem"],
                              row["garment_stem"])
            atomic_save_image(os.path.join(self.out_dir, rel), image)
            results[i] = {"result_path": rel, "seed": seed, "steps": self.steps, "guidance_scale": self.guidance_scale,
                          "height": self.runtime.height, "width": self.runtime.width, "latency_ms": latency_ms}
        return results
