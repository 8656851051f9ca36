"""StableVITON on OpenVINO with numpy only (no torch): what a try-on stage imports.

    rt = StableVITONRuntime("models/stableviton", device="CPU")
    image = rt(person, agnostic, agnostic_mask, densepose, garment, steps=50, seed=42)

Inputs per pair (any one native size each; the VITON-HD folders): person `image/`, agnostic
`agnostic-v3.2/`, agnostic mask `agnostic-mask/<id>_mask.png` (uint8 HxW, >= 128 = region to
generate), DensePose render `image-densepose/`, garment `cloth/`; uint8 RGB HxWx3. Output: uint8
RGB at the IR size.

Semantics of the official inference: each image resized to the model size; the person,
agnostic and DensePose images VAE-encoded (x 0.18215), the agnostic latent, the mask at latent
size and the DensePose latent forming the 9-channel condition; x_T = q_sample(person latent,
999); PLMS on the official grid; one denoiser call per evaluation, or two with classifier-free
guidance (guidance_scale != 1: the unconditional branch has the learned null context); decode;
truncating uint8 conversion; optional repaint. The garment goes through the CLIP encoder and the
VAE encoder once per pair; with vae_sample=True every denoiser call draws a fresh posterior
sample of its latent from the cached mean and log-variance, as the official code re-encodes it
per call. vae_sample=False uses posterior means everywhere (the deterministic check's mode).

Randomness: each pair draws from its own generator, in this order: posterior noise of the person,
agnostic and DensePose latents (vae_sample only), the eps of x_T (unless `noise` is given), then
per denoiser call the garment latent's posterior noise (vae_sample only). A pair's result never
depends on the other pairs of its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vtonpipe.models.common.ir import compile_ir, read_ir
from vtonpipe.models.common.plms import PLMSScheduler, plms_grid
from vtonpipe.models.stableviton import DENOISER, FAMILY, GARMENT_ENCODER, VAE_DECODER, VAE_ENCODER
from vtonpipe.models.stableviton.preprocess import kept_mask, latent_mask, model_image, to_uint8
from vtonpipe.models.stableviton.preprocess import repaint as repaint_pair

Seed = int | np.random.Generator | None
# Positions of the images in a pair (person, agnostic, agnostic_mask, densepose, garment).
IMAGE_ARGUMENTS = ((0, "person"), (1, "agnostic"), (3, "densepose"), (4, "garment"))
StepCallback = Callable[[int, int], None]


class StableVITONRuntime:
    """The four compiled IRs of one folder and the sampling loop."""

    def __init__(self, ir_dir: str | Path, device: str = "CPU", *, threads: int | None = None,
                 cache_dir: str | Path | None = None):
        ir_dir = Path(ir_dir)
        self.info = read_ir(ir_dir, FAMILY)
        self.model_id = self.info.model_id
        p = self.info.param
        self.height, self.width, self.batch = int(p("height")), int(p("width")), int(p("batch"))
        self.factor, self.latent_channels = int(p("latent_scale")), int(p("latent_channels"))
        self.scale_factor = np.float32(p("scale_factor"))
        self.alphas_cumprod = np.asarray(p("alphas_cumprod"), dtype=np.float32)
        self.start_timestep = int(p("start_timestep"))
        self.start_coefficients = (np.float32(p("sqrt_alphas_cumprod_start")),
                                   np.float32(p("sqrt_one_minus_alphas_cumprod_start")))
        self.garment_encoder, self.vae_encoder, self.denoiser, self.vae_decoder = (
            compile_ir(self.info.xml(name), device, threads=threads, cache_dir=cache_dir)
            for name in (GARMENT_ENCODER, VAE_ENCODER, DENOISER, VAE_DECODER))
        # Called with each denoiser input dict (INT8 calibration captures them).
        self.denoiser_input_hook: Callable[[dict[str, np.ndarray]], None] | None = None

    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        """Shape of one pair's latent (and of `noise`)."""
        return (1, self.latent_channels, self.height // self.factor, self.width // self.factor)

    def step_count(self, steps: int) -> int:
        """Sampler steps the official grid runs for `steps` (can be more); ConfigError where it cannot."""
        return len(plms_grid(steps, len(self.alphas_cumprod)))

    def __call__(self, person: np.ndarray, agnostic: np.ndarray, agnostic_mask: np.ndarray, densepose: np.ndarray,
                 garment: np.ndarray, *, steps: int = 50, guidance_scale: float = 1.0, seed: Seed = None,
                 noise: np.ndarray | None = None, vae_sample: bool = True, repaint: bool = False,
                 on_step: StepCallback | None = None) -> np.ndarray:
        """One try-on -> uint8 HxWx3 RGB at the IR size."""
        return self.generate([person], [agnostic], [agnostic_mask], [densepose], [garment], seeds=[seed],
                             noises=None if noise is None else [noise], steps=steps, guidance_scale=guidance_scale,
                             vae_sample=vae_sample, repaint=repaint, on_step=on_step)[0]

    def generate(self, persons: Sequence[np.ndarray], agnostics: Sequence[np.ndarray],
                 agnostic_masks: Sequence[np.ndarray], denseposes: Sequence[np.ndarray], garments: Sequence[np.ndarray],
                 *, seeds: Sequence[Seed], noises: Sequence[np.ndarray] | None = None, steps: int = 50,
                 guidance_scale: float = 1.0, vae_sample: bool = True, repaint: bool = False,
                 on_step: StepCallback | None = None) -> list[np.ndarray]:
        """Several pairs, in chunks of the IR batch (the last one padded by repetition);
        `on_step(i, n)` after step i of n of each chunk."""
        n = len(persons)
        if any(len(x) != n for x in (agnostics, agnostic_masks, denseposes, garments, seeds)) or (
                noises is not None and len(noises) != n):
            raise ValueError("persons, agnostics, agnostic_masks, denseposes, garments, seeds (and noises) "
                             "must have the same length")
        self.step_count(steps)
        out: list[np.ndarray] = []
        for start in range(0, n, self.batch):
            idx = list(range(start, min(start + self.batch, n)))
            padded = idx + [idx[-1]] * (self.batch - len(idx))
            # Padding rows get their own generator: a caller's Generator must not be drawn twice.
            rngs = [np.random.default_rng(seeds[i]) for i in idx] + [np.random.default_rng(0) for _ in padded[len(idx):]]
            pairs = [(persons[i], agnostics[i], agnostic_masks[i], denseposes[i], garments[i]) for i in padded]
            chunk_noise = None if noises is None else [noises[i] for i in padded]
            out.extend(self._generate_chunk(pairs, rngs, chunk_noise, steps=steps, guidance_scale=guidance_scale,
                                            vae_sample=vae_sample, repaint=repaint, on_step=on_step)[: len(idx)])
        return out

    def _posterior(self, mean: np.ndarray, logvar: np.ndarray, rngs: list[np.random.Generator],
                   vae_sample: bool) -> np.ndarray:
        """Scaled latents [B,...]: the mean, or mean + std * noise with noise drawn per pair."""
        if not vae_sample:
            return self.scale_factor * mean
        noise = np.stack([rng.standard_normal(mean.shape[1:], dtype=np.float32) for rng in rngs])
        return self.scale_factor * (mean + np.exp(np.float32(0.5) * logvar) * noise)

    def _generate_chunk(self, pairs, rngs, noises, *, steps, guidance_scale, vae_sample, repaint, on_step):
        b, h, w = self.batch, self.height, self.width
        # Per pair: person, agnostic, DensePose and garment images, float32 HxWx3 in [-1, 1].
        images = [[model_image(pair[k], h, w, name) for k, name in IMAGE_ARGUMENTS] for pair in pairs]
        kept = [kept_mask(pair[2], h, w) for pair in pairs]
        # The encoder batch holds all persons, then all agnostics, DensePose images, garments.
        stacked = np.stack([pair_images[k] for k in range(4) for pair_images in images]).transpose(0, 3, 1, 2)
        encoded = self.vae_encoder(stacked)
        mean, logvar = (encoded[i].reshape(4, b, *encoded[i].shape[1:]) for i in range(2))
        # Each pair draws its person, agnostic and DensePose posterior noise, in that order.
        z_person, z_agnostic, z_densepose = np.stack(
            [self._posterior(mean[:3, i], logvar[:3, i], [rngs[i]] * 3, vae_sample) for i in range(b)], axis=1)
        mask = np.stack([latent_mask(m, self.factor) for m in kept])[:, None]
        cond = np.concatenate([z_agnostic, mask, z_densepose], axis=1).astype(np.float32)
        contexts = self.garment_encoder(np.ascontiguousarray(stacked[3 * b:]))
        context, null_context = contexts[0], contexts[1]
        cloth_mean, cloth_logvar = mean[3], logvar[3]

        if noises is None:
            eps = np.concatenate([rng.standard_normal(self.latent_shape, dtype=np.float32) for rng in rngs])
        else:
            eps = np.concatenate([np.asarray(e, dtype=np.float32).reshape(self.latent_shape) for e in noises])
        sqrt_a, sqrt_1ma = self.start_coefficients
        x = sqrt_a * z_person + sqrt_1ma * eps

        scheduler = PLMSScheduler(self.alphas_cumprod)
        timesteps = scheduler.set_timesteps(steps)
        for call, t in enumerate(timesteps):
            inputs = {"x": x, "cond": cond, "context": context, "t": np.full(b, t, dtype=np.float32)}
            e = self._eps(inputs, cloth_mean, cloth_logvar, rngs, vae_sample)
            if guidance_scale != 1.0:
                e_uncond = self._eps({**inputs, "context": null_context}, cloth_mean, cloth_logvar, rngs, vae_sample)
                e = e_uncond + np.float32(guidance_scale) * (e - e_uncond)
            x = scheduler.step(e, t, x)
            if on_step is not None and call > 0:
                on_step(call, len(timesteps) - 1)

        decoded = self.vae_decoder(x.astype(np.float32))[0]
        results = [to_uint8(decoded[i]) for i in range(b)]
        if repaint:
            results = [repaint_pair(images[i][0], kept[i], results[i]) for i in range(b)]
        return results

    def _eps(self, inputs: dict[str, np.ndarray], cloth_mean: np.ndarray, cloth_logvar: np.ndarray,
             rngs: list[np.random.Generator], vae_sample: bool) -> np.ndarray:
        """One denoiser call, with a fresh garment latent sample when vae_sample."""
        inputs = {**inputs, "cloth_latent": self._posterior(cloth_mean, cloth_logvar, rngs, vae_sample)}
        inputs = {name: np.ascontiguousarray(inputs[name], dtype=np.float32)
                  for name in ("x", "cond", "cloth_latent", "context", "t")}
        if self.denoiser_input_hook is not None:
            self.denoiser_input_hook(inputs)
        return self.denoiser(inputs)[0]
