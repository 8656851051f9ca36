"""CatVTON's denoising loop in numpy around the UNet IRs: guidance, deep-feature caching, progress.

With guidance (scale > 1) each UNet call takes [unconditional, conditional] stacked in the batch;
without it the call takes the conditional rows alone, which equals the conditional half of a
guided call. With cache_interval k every k-th step (from the first) calls the full UNet, which
also returns the deep feature; the k-1 steps in between call unet_shallow on that feature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from vtonpipe.models.common.samplers import Sampler

# (IR name, batch, inputs) -> the IR's outputs in order
RunIR = Callable[[str, int, dict[str, np.ndarray]], Sequence[np.ndarray]]
ProgressCallback = Callable[[int, int], None]


class NoisePredictor:
    """The UNet calls of one chunk of pairs: 9-channel inputs [noisy | mask | context], guidance, caching.

    `mask` [B,1,2h,w], `cond` / `uncond` [B,4,2h,w] (uncond has a zero garment latent).
    """

    def __init__(self, run: RunIR, mask: np.ndarray, cond: np.ndarray, uncond: np.ndarray, *, guidance_scale: float,
                 hook: Callable[[dict[str, np.ndarray]], None] | None = None):
        self.run, self.hook = run, hook
        self.guidance_scale = guidance_scale
        self.guided = guidance_scale > 1
        self.mask = np.concatenate([mask, mask]) if self.guided else mask
        self.context = np.concatenate([uncond, cond]) if self.guided else cond
        self.batch = len(self.context)
        self.feature: np.ndarray | None = None

    def model_input(self, x: np.ndarray) -> np.ndarray:
        """The latents as the UNet batch holds them (twice with guidance)."""
        return np.concatenate([x, x]) if self.guided else x

    def __call__(self, model_x: np.ndarray, t: int, *, full: bool = True) -> np.ndarray:
        """Guided noise prediction for latents `model_x` at timestep t; `full=False` reuses the last feature."""
        inputs = {
            "sample": np.concatenate([model_x, self.mask, self.context], axis=1).astype(np.float32),
            "timestep": np.array([t], dtype=np.float32),
        }
        if full:
            if self.hook is not None:
                self.hook(inputs)
            outputs = self.run("unet", self.batch, inputs)
            # IR folders converted before the UNet split have no feature output (and no unet_shallow).
            noise, self.feature = outputs[0], outputs[1] if len(outputs) > 1 else None
        else:
            noise = self.run("unet_shallow", self.batch, {**inputs, "feature": self.feature})[0]
        if not self.guided:
            return noise
        half = self.batch // 2
        pred_uncond, pred_cond = noise[:half], noise[half:]
        return pred_uncond + self.guidance_scale * (pred_cond - pred_uncond)


def denoise(
    x: np.ndarray,
    predict: NoisePredictor,
    scheduler: Sampler,
    steps: int,
    *,
    rngs: Sequence[np.random.Generator],
    cache_interval: int = 1,
    on_step: ProgressCallback | None = None,
) -> np.ndarray:
    """Initial latents x [B,4,2h,w] -> denoised latents. A stochastic sampler draws each pair's
    step noise from that pair's generator, pair by pair, once per step."""
    x = x * scheduler.init_noise_sigma
    timesteps = scheduler.set_timesteps(steps)
    pair_shape = (1, *x.shape[1:])
    for i, t in enumerate(timesteps):
        model_x = scheduler.scale_model_input(predict.model_input(x), t)
        pred = predict(model_x, t, full=i % cache_interval == 0)
        noise = None
        if scheduler.stochastic:
            noise = np.concatenate([rng.standard_normal(pair_shape, dtype=np.float32) for rng in rngs])
        x = scheduler.step(pred, t, x, variance_noise=noise)
        if on_step is not None:
            on_step(i + 1, len(timesteps))
    return x
