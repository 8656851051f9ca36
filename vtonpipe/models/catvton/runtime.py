"""CatVTON on OpenVINO with numpy only (no torch): what the tryon stage and notebooks import.

    rt = CatVTONRuntime("models/catvton", device="CPU")
    image = rt(person, garment, mask, steps=50, guidance_scale=2.5, seed=42)

Semantics follow CatVTON's pipeline: person and mask resize-and-crop, garment resize-and-pad on
white; mask binarised at 0.5; masked person = image * (mask < 0.5); person and garment latents
stacked along height; classifier-free guidance whose unconditional branch has a zero garment
latent; numpy DDIM; decode of the top half. Each pair draws its noise from its own generator in a
fixed order (VAE posterior noise, initial latents, DDIM step noise), so a result never depends on
which other pairs share its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from vtonpipe.models.catvton import FAMILY
from vtonpipe.models.catvton.preprocess import (
    binary_mask,
    resize_and_crop,
    resize_and_pad,
    to_model_image,
    to_uint8_image,
)
from vtonpipe.models.catvton.preprocess import (
    repaint as repaint_result,
)
from vtonpipe.models.common.ddim import DDIMScheduler
from vtonpipe.models.common.ir import compile_ir, read_ir

Seed = int | np.random.Generator | None


class CatVTONRuntime:
    """Compiled vae_encoder / unet / vae_decoder of one IR folder and the sampling loop."""

    def __init__(self, ir_dir: str | Path, device: str = "CPU", threads: int | None = None, cache_dir: str | Path | None = None):
        ir_dir = Path(ir_dir)
        self.info = read_ir(ir_dir, FAMILY)
        self.model_id = self.info.model_id
        self.height, self.width = int(self.info.param("height")), int(self.info.param("width"))
        self.batch = int(self.info.param("batch"))
        self.factor = int(self.info.param("latent_scale"))
        self.scaling_factor = float(self.info.param("scaling_factor"))
        self.latent_channels = int(self.info.param("latent_channels"))
        self.scheduler_config = dict(self.info.param("scheduler"))
        self.encoder, self.unet, self.decoder = (
            compile_ir(ir_dir / f"{name}.xml", device, threads=threads, cache_dir=cache_dir)
            for name in ("vae_encoder", "unet", "vae_decoder")
        )
        # Called with each UNet input dict (INT8 calibration captures them).
        self.unet_input_hook: Callable[[dict[str, np.ndarray]], None] | None = None

    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        """Shape of one pair's initial latents: person over garment."""
        return (1, self.latent_channels, 2 * self.height // self.factor, self.width // self.factor)

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
    ) -> np.ndarray:
        """One try-on: uint8 RGB person, garment, uint8 HxW mask -> uint8 HxWx3 RGB at the IR size."""
        return self.generate(
            [person], [garment], [mask], seeds=[seed], latents=None if latents is None else [latents],
            steps=steps, guidance_scale=guidance_scale, eta=eta, vae_sample=vae_sample, repaint=repaint,
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
    ) -> list[np.ndarray]:
        """Several pairs, run in chunks of the IR batch (the last chunk padded by repetition)."""
        n = len(persons)
        if not (len(garments) == len(masks) == len(seeds) == n) or (latents is not None and len(latents) != n):
            raise ValueError("persons, garments, masks, seeds (and latents) must have the same length")
        out: list[np.ndarray] = []
        for start in range(0, n, self.batch):
            idx = list(range(start, min(start + self.batch, n)))
            padded = idx + [idx[-1]] * (self.batch - len(idx))
            # Padding rows get their own generator: a shared Generator must not be drawn twice.
            rngs = [np.random.default_rng(seeds[i]) for i in idx] + [np.random.default_rng(0) for _ in padded[len(idx):]]
            images = self._generate_chunk(
                [persons[i] for i in padded], [garments[i] for i in padded], [masks[i] for i in padded], rngs,
                None if latents is None else [latents[i] for i in padded],
                steps=steps, guidance_scale=guidance_scale, eta=eta, vae_sample=vae_sample, repaint=repaint,
            )
            out.extend(images[: len(idx)])
        return out

    def _prepare(self, person: np.ndarray, garment: np.ndarray, mask: np.ndarray):
        size = (self.width, self.height)
        if mask.ndim == 3:
            mask = np.asarray(Image.fromarray(mask).convert("L"))
        if person.shape[:2] != mask.shape[:2]:
            raise ValueError(f"person {person.shape[:2]} and mask {mask.shape[:2]} differ in size")
        return resize_and_crop(person, size), resize_and_pad(garment, size), resize_and_crop(mask, size)

    def _encode(self, images: np.ndarray, rngs: list[np.random.Generator], vae_sample: bool) -> np.ndarray:
        """[2B,3,H,W] -> scaled latents; posterior noise drawn per pair (masked person, then garment)."""
        result = self.encoder(images)
        mean, logvar = result[0], result[1]
        latent = mean
        if vae_sample:
            # Pair i draws its masked-person noise, then its garment noise; rows i and B+i.
            parts = [[rng.standard_normal(mean.shape[1:], dtype=np.float32) for _ in range(2)] for rng in rngs]
            noise = np.stack([p[0] for p in parts] + [p[1] for p in parts])
            latent = mean + np.exp(0.5 * logvar) * noise
        return (latent * self.scaling_factor).astype(np.float32)

    def _generate_chunk(self, persons, garments, masks, rngs, latents, *, steps, guidance_scale, eta, vae_sample, repaint):
        b, f = self.batch, self.factor
        prepared = [self._prepare(p, g, m) for p, g, m in zip(persons, garments, masks)]
        images = np.concatenate([to_model_image(p) for p, _, _ in prepared])
        mask_b = np.concatenate([binary_mask(m) for _, _, m in prepared])
        masked = images * (mask_b < 0.5)
        garments_in = np.concatenate([to_model_image(g) for _, g, _ in prepared])
        latent = self._encode(np.concatenate([masked, garments_in]).astype(np.float32), rngs, vae_sample)
        masked_latent, garment_latent = latent[:b], latent[b:]
        # Nearest-neighbour downsampling by an integer factor picks the top-left pixel of each cell.
        mask_latent = mask_b[:, :, ::f, ::f]
        cond = np.concatenate([masked_latent, garment_latent], axis=2)
        uncond = np.concatenate([masked_latent, np.zeros_like(garment_latent)], axis=2)
        mask_concat = np.concatenate([mask_latent, np.zeros_like(mask_latent)], axis=2)
        context = np.concatenate([uncond, cond])
        mask_in = np.concatenate([mask_concat, mask_concat])
        if latents is None:
            x = np.concatenate([rng.standard_normal(self.latent_shape, dtype=np.float32) for rng in rngs])
        else:
            x = np.concatenate([np.asarray(l, dtype=np.float32).reshape(self.latent_shape) for l in latents])
        scheduler = DDIMScheduler(self.scheduler_config)
        x = x * scheduler.init_noise_sigma
        for t in scheduler.set_timesteps(steps):
            model_x = scheduler.scale_model_input(np.concatenate([x, x]), t)
            inputs = {
                "sample": np.concatenate([model_x, mask_in, context], axis=1).astype(np.float32),
                "timestep": np.array([t], dtype=np.float32),
            }
            if self.unet_input_hook is not None:
                self.unet_input_hook(inputs)
            noise_pred = self.unet(inputs)[0]
            pred_uncond, pred_cond = noise_pred[:b], noise_pred[b:]
            # guidance_scale <= 1 means no guidance: only the conditional half is used.
            pred = pred_uncond + guidance_scale * (pred_cond - pred_uncond) if guidance_scale > 1 else pred_cond
            step_noise = None
            if eta > 0:
                step_noise = np.concatenate([rng.standard_normal(self.latent_shape, dtype=np.float32) for rng in rngs])
            x = scheduler.step(pred, t, x, eta=eta, variance_noise=step_noise)
        top = x[:, :, : self.height // f] / self.scaling_factor
        decoded = self.decoder(top.astype(np.float32))[0]
        results = [to_uint8_image(decoded[i : i + 1]) for i in range(b)]
        if repaint:
            results = [repaint_result(p, m, r) for (p, _, m), r in zip(prepared, results)]
        return results
