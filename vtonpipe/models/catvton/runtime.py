"""CatVTON on OpenVINO with numpy only (no torch): what the tryon stage and notebooks import.

    rt = CatVTONRuntime("models/catvton", device="CPU")
    image = rt(person, garment, mask, steps=50, guidance_scale=2.5, seed=42)

Semantics follow CatVTON's pipeline: person and mask resize-and-crop, garment resize-and-pad on
white; mask binarised at 0.5; masked person = image * (mask < 0.5); person and garment latents
stacked along height; classifier-free guidance whose unconditional branch has a zero garment
latent; numpy DDIM; decode of the top half. Each pair draws its noise from its own generator in a
fixed order (VAE posterior noise, initial latents, sampler step noise), so a result never depends
on which other pairs share its batch.

Speed options, all off by default (the defaults give exactly the pipeline above):
- guidance_scale <= 1 runs the UNet on the conditional rows alone: half the batch per step, and
  the same images as the guided batch at scale 1, which uses only its conditional half.
- sampler="dpmpp-2m" (or another name in vtonpipe.models.common.samplers) with fewer steps.
- cache_interval=k calls the full UNet on every k-th step and unet_shallow, which reuses the
  full call's deep feature, on the k-1 steps between (DeepCache); results change.
- garment_keys / person_keys: latents cached by the caller's ids for the runtime's lifetime.
  A keyed latent is the posterior mean (vae_sample=False's latent), whatever vae_sample says, so
  it is the same for every pair that shares it; the pair still draws (and discards) its posterior
  noise, so its initial latents and step noise are those of the uncached run. Results therefore
  differ from the uncached default only by the posterior noise of keyed latents (not at all with
  vae_sample=False), and never depend on batch composition, order or what the cache holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np
import openvino as ov
from PIL import Image

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.catvton import FAMILY
from vtonpipe.models.catvton.latent_cache import LatentCache
from vtonpipe.models.catvton.preprocess import (
    binary_mask,
    resize_and_crop,
    resize_and_pad,
    to_model_image,
    to_uint8_image,
)
from vtonpipe.models.catvton.preprocess import repaint as repaint_result
from vtonpipe.models.catvton.sampling import NoisePredictor, ProgressCallback, denoise
from vtonpipe.models.common.ir import compile_ir, read_ir
from vtonpipe.models.common.samplers import build_sampler

Seed = int | np.random.Generator | None
Key = Hashable | None


class CatVTONRuntime:
    """Compiled IRs of one folder and the sampling loop.

    vae_encoder and vae_decoder compile at construction; each UNet IR compiles on first use at
    the batch it is needed at (2B with guidance, B without). `calls` counts IR calls by
    (IR name, batch); `latent_cache` holds keyed latents, up to `latent_cache_mb` MiB.
    """

    def __init__(self, ir_dir: str | Path, device: str = "CPU", threads: int | None = None,
                 cache_dir: str | Path | None = None, *, latent_cache_mb: float = 256):
        ir_dir = Path(ir_dir)
        self.info = read_ir(ir_dir, FAMILY)
        self.model_id = self.info.model_id
        self.height, self.width = int(self.info.param("height")), int(self.info.param("width"))
        self.batch = int(self.info.param("batch"))
        self.factor = int(self.info.param("latent_scale"))
        self.scaling_factor = float(self.info.param("scaling_factor"))
        self.latent_channels = int(self.info.param("latent_channels"))
        self.scheduler_config = dict(self.info.param("scheduler"))
        self._compile_options = dict(device=device, threads=threads, cache_dir=cache_dir)
        self._compiled: dict[tuple[str, int], ov.CompiledModel] = {}
        self.calls: Counter[tuple[str, int]] = Counter()
        self.latent_cache = LatentCache(int(latent_cache_mb * 2**20))
        self.encoder = self.compiled("vae_encoder", 2 * self.batch)
        self.decoder = self.compiled("vae_decoder", self.batch)
        # Called with each full UNet call's input dict (INT8 calibration captures them).
        self.unet_input_hook: Callable[[dict[str, np.ndarray]], None] | None = None

    @property
    def unet(self) -> ov.CompiledModel:
        """The full UNet at the guided batch 2B (outputs: noise, feature)."""
        return self.compiled("unet", 2 * self.batch)

    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        """Shape of one pair's initial latents: person over garment."""
        return (1, self.latent_channels, 2 * self.height // self.factor, self.width // self.factor)

    def compiled(self, name: str, batch: int) -> ov.CompiledModel:
        """IR `name` compiled at `batch` (reshaped when the folder lists that batch under runtime_batches)."""
        key = (name, batch)
        if key not in self._compiled:
            inputs = self.info.inputs.get(name)
            if inputs is None:
                raise ModelFilesError(f"{self.info.folder} has no {name} IR: convert it again with "
                                      f"`vtonpipe models convert {FAMILY} ...`")
            saved = max(inputs.values(), key=len)[0]  # the batch it was saved at
            shapes = None
            if batch != saved:
                if batch not in self.info.params.get("runtime_batches", {}).get(name, ()):
                    raise ModelFilesError(f"{self.info.folder}/{name} cannot run at batch {batch} (it was exported "
                                          f"for batch {saved} only): convert it again with `vtonpipe models convert {FAMILY} ...`")
                shapes = {n: [batch, *s[1:]] for n, s in inputs.items() if len(s) > 1 and s[0] == saved}
            self._compiled[key] = compile_ir(self.info.xml(name), shapes=shapes, **self._compile_options)
        return self._compiled[key]

    def prepare(self, *, guidance_scale: float = 2.5, sampler: str = "ddim", cache_interval: int = 1) -> None:
        """Check the options and compile the UNet IRs they need (generate does it too; a stage's
        setup can, to fail and compile before its first row). ValueError for a bad option,
        ModelFilesError when the folder was converted without what they need."""
        build_sampler(sampler, self.scheduler_config)
        if int(cache_interval) != cache_interval or cache_interval < 1:
            raise ValueError(f"cache_interval must be an integer >= 1, got {cache_interval}")
        unet_batch = self.batch * (2 if guidance_scale > 1 else 1)
        for name in ("unet", "unet_shallow") if cache_interval > 1 else ("unet",):
            self.compiled(name, unet_batch)

    def _run(self, name: str, batch: int, inputs: dict[str, np.ndarray] | np.ndarray) -> list[np.ndarray]:
        model = self.compiled(name, batch)
        self.calls[(name, batch)] += 1
        result = model(inputs)
        return [result[i] for i in range(len(model.outputs))]

    def __call__(
        self,
        person: np.ndarray,
        garment: np.ndarray,
        mask: np.ndarray,
        *,
        steps: int = 50,
        guidance_scale: float = 2.5,
        eta: float = 1.0,
        seed: Seed = None,
        latents: np.ndarray | None = None,
        vae_sample: bool = True,
        repaint: bool = False,
        sampler: str = "ddim",
        cache_interval: int = 1,
        person_key: Key = None,
        garment_key: Key = None,
        on_step: ProgressCallback | None = None,
    ) -> np.ndarray:
        """One try-on: uint8 RGB person, garment, uint8 HxW mask -> uint8 HxWx3 RGB at the IR size."""
        return self.generate(
            [person], [garment], [mask], seeds=[seed], latents=None if latents is None else [latents],
            steps=steps, guidance_scale=guidance_scale, eta=eta, vae_sample=vae_sample, repaint=repaint,
            sampler=sampler, cache_interval=cache_interval, person_keys=[person_key], garment_keys=[garment_key],
            on_step=on_step,
        )[0]

    def generate(
        self,
        persons: Sequence[np.ndarray],
        garments: Sequence[np.ndarray],
        masks: Sequence[np.ndarray],
        *,
        seeds: Sequence[Seed],
        latents: Sequence[np.ndarray] | None = None,
        steps: int = 50,
        guidance_scale: float = 2.5,
        eta: float = 1.0,
        vae_sample: bool = True,
        repaint: bool = False,
        sampler: str = "ddim",
        cache_interval: int = 1,
        person_keys: Sequence[Key] | None = None,
        garment_keys: Sequence[Key] | None = None,
        on_step: ProgressCallback | None = None,
    ) -> list[np.ndarray]:
        """Several pairs, run in chunks of the IR batch (the last chunk padded by repetition).

        `sampler` names a numpy sampler (eta is DDIM's); `cache_interval` k >= 1 runs the full
        UNet every k-th step; `person_keys` / `garment_keys` (one id or None per pair) cache the
        masked-person / garment latents; `on_step(i, n)` is called after step i of n of each chunk.
        """
        n = len(persons)
        person_keys = [None] * n if person_keys is None else list(person_keys)
        garment_keys = [None] * n if garment_keys is None else list(garment_keys)
        if not (len(garments) == len(masks) == len(seeds) == len(person_keys) == len(garment_keys) == n) or (
            latents is not None and len(latents) != n
        ):
            raise ValueError("persons, garments, masks, seeds (and latents, keys) must have the same length")
        self.prepare(guidance_scale=guidance_scale, sampler=sampler, cache_interval=cache_interval)
        out: list[np.ndarray] = []
        for start in range(0, n, self.batch):
            idx = list(range(start, min(start + self.batch, n)))
            padded = idx + [idx[-1]] * (self.batch - len(idx))
            # Padding rows get their own generator: a shared Generator must not be drawn twice.
            rngs = [np.random.default_rng(seeds[i]) for i in idx] + [np.random.default_rng(0) for _ in padded[len(idx):]]
            images = self._generate_chunk(
                [persons[i] for i in padded], [garments[i] for i in padded], [masks[i] for i in padded], rngs,
                None if latents is None else [latents[i] for i in padded],
                [person_keys[i] for i in padded], [garment_keys[i] for i in padded],
                steps=steps, guidance_scale=guidance_scale, eta=eta, vae_sample=vae_sample, repaint=repaint,
                sampler=sampler, cache_interval=int(cache_interval), on_step=on_step,
            )
            out.extend(images[: len(idx)])
        return out

    def _fit_to_ir(self, person: np.ndarray, garment: np.ndarray, mask: np.ndarray):
        size = (self.width, self.height)
        if mask.ndim == 3:
            mask = np.asarray(Image.fromarray(mask).convert("L"))
        if person.shape[:2] != mask.shape[:2]:
            raise ValueError(f"person {person.shape[:2]} and mask {mask.shape[:2]} differ in size")
        return resize_and_crop(person, size), resize_and_pad(garment, size), resize_and_crop(mask, size)

    def _encode(self, images: np.ndarray, rngs: list[np.random.Generator], vae_sample: bool) -> np.ndarray:
        """[2B,3,H,W] -> scaled latents; posterior noise drawn per pair (masked person, then garment)."""
        mean, logvar = self._run("vae_encoder", len(images), images)
        latent = mean
        if vae_sample:
            # Pair i draws its masked-person noise, then its garment noise; rows i and B+i.
            parts = [[rng.standard_normal(mean.shape[1:], dtype=np.float32) for _ in range(2)] for rng in rngs]
            noise = np.stack([p[0] for p in parts] + [p[1] for p in parts])
            latent = mean + np.exp(0.5 * logvar) * noise
        return (latent * self.scaling_factor).astype(np.float32)

    def _encode_keyed(self, images: np.ndarray, rngs: list[np.random.Generator], vae_sample: bool,
                      keys: list[Key]) -> np.ndarray:
        """Like _encode, one image at a time; rows with a key take the cached posterior mean."""
        b = len(rngs)
        shape = (self.latent_channels, self.height // self.factor, self.width // self.factor)
        # The same draws as _encode, so every later draw of the pair is unchanged.
        noise = [[rng.standard_normal(shape, dtype=np.float32) for _ in range(2)] for rng in rngs] if vae_sample else None
        rows = []
        for row, key in enumerate(keys):
            part, i = divmod(row, b)  # part 0: masked persons, 1: garments
            cache_key = (("person", "garment")[part], key)
            latent = None if key is None else self.latent_cache.get(cache_key)
            if latent is None:
                mean, logvar = self._run("vae_encoder", 1, images[row : row + 1])
                sampled = mean if key is not None or not vae_sample else mean + np.exp(0.5 * logvar) * noise[i][part]
                latent = (sampled * self.scaling_factor).astype(np.float32)
                if key is not None:
                    self.latent_cache.put(cache_key, latent)
            rows.append(latent)
        return np.concatenate(rows)

    def _generate_chunk(self, persons, garments, masks, rngs, latents, person_keys, garment_keys, *, steps,
                        guidance_scale, eta, vae_sample, repaint, sampler, cache_interval, on_step):
        b, f = self.batch, self.factor
        fitted = [self._fit_to_ir(p, g, m) for p, g, m in zip(persons, garments, masks)]
        images = np.concatenate([to_model_image(p) for p, _, _ in fitted])
        mask_b = np.concatenate([binary_mask(m) for _, _, m in fitted])
        masked = images * (mask_b < 0.5)
        garments_in = np.concatenate([to_model_image(g) for _, g, _ in fitted])
        encoder_in = np.concatenate([masked, garments_in]).astype(np.float32)
        keys = person_keys + garment_keys
        if any(k is not None for k in keys):
            latent = self._encode_keyed(encoder_in, rngs, vae_sample, keys)
        else:
            latent = self._encode(encoder_in, rngs, vae_sample)
        masked_latent, garment_latent = latent[:b], latent[b:]
        # Nearest-neighbour downsampling by an integer factor picks the top-left pixel of each cell.
        mask_latent = mask_b[:, :, ::f, ::f]
        cond = np.concatenate([masked_latent, garment_latent], axis=2)
        uncond = np.concatenate([masked_latent, np.zeros_like(garment_latent)], axis=2)
        mask_concat = np.concatenate([mask_latent, np.zeros_like(mask_latent)], axis=2)
        if latents is None:
            x = np.concatenate([rng.standard_normal(self.latent_shape, dtype=np.float32) for rng in rngs])
        else:
            x = np.concatenate([np.asarray(l, dtype=np.float32).reshape(self.latent_shape) for l in latents])
        predict = NoisePredictor(self._run, mask_concat, cond, uncond, guidance_scale=guidance_scale,
                                 hook=self.unet_input_hook)
        scheduler = build_sampler(sampler, self.scheduler_config, eta=eta)
        x = denoise(x, predict, scheduler, steps, rngs=rngs, cache_interval=cache_interval, on_step=on_step)
        top = x[:, :, : self.height // f] / self.scaling_factor
        decoded = self._run("vae_decoder", b, top.astype(np.float32))[0]
        results = [to_uint8_image(decoded[i : i + 1]) for i in range(b)]
        if repaint:
            results = [repaint_result(p, m, r) for (p, _, m), r in zip(fitted, results)]
        return results
