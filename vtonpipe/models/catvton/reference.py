"""CatVTON in torch + diffusers (convert extra): the reference the OpenVINO runtime is checked
against. Same semantics as CatVTON's pipeline, with explicit randomness: noise is drawn from a
numpy Generator in the runtime's order (VAE posterior noise for the masked person then the
garment, initial latents, one step noise per step for stochastic samplers), or `latents` are given.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

from vtonpipe.models.catvton.checkpoint import CatVTONWeights
from vtonpipe.models.catvton.preprocess import binary_mask, resize_and_crop, resize_and_pad, to_model_image

# The diffusers scheduler (and config overrides) each sampler name of vtonpipe.models.common.samplers stands for.
DIFFUSERS_SAMPLERS = {
    "ddim": (DDIMScheduler, {}),
    "dpmpp-2m": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": False}),
    "dpmpp-2m-karras": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2,
                                                      "use_karras_sigmas": True}),
    "dpmpp-2m-sde": (DPMSolverMultistepScheduler, {"algorithm_type": "sde-dpmsolver++", "solver_order": 2,
                                                   "use_karras_sigmas": False}),
}


@torch.no_grad()
def reference_tryon(
    weights: CatVTONWeights,
    person: np.ndarray,
    garment: np.ndarray,
    mask: np.ndarray,
    *,
    height: int,
    width: int,
    steps: int = 50,
    guidance_scale: float = 2.5,
    eta: float = 1.0,
    seed: int | None = None,
    latents: np.ndarray | None = None,
    vae_sample: bool = True,
    sampler: str = "ddim",
) -> np.ndarray:
    """One try-on in torch; uint8 HxWx3 at (height, width). `sampler` is a DIFFUSERS_SAMPLERS name."""
    rng = np.random.default_rng(seed)
    vae, unet = weights.vae, weights.unet
    sf = vae.config.scaling_factor
    size = (width, height)
    image = torch.from_numpy(to_model_image(resize_and_crop(person, size)))
    cond_image = torch.from_numpy(to_model_image(resize_and_pad(garment, size)))
    m = torch.from_numpy(binary_mask(resize_and_crop(mask, size)))
    masked_image = image * (m < 0.5)

    def latent(x: torch.Tensor) -> torch.Tensor:
        dist = vae.encode(x).latent_dist
        if not vae_sample:
            return dist.mean * sf
        noise = rng.standard_normal(tuple(dist.mean.shape), dtype=np.float32)
        return (dist.mean + dist.std * torch.from_numpy(noise)) * sf

    masked_latent = latent(masked_image)
    cond_latent = latent(cond_image)
    mask_latent = F.interpolate(m, size=masked_latent.shape[-2:], mode="nearest")
    context = torch.cat([masked_latent, cond_latent], dim=-2)
    mask_concat = torch.cat([mask_latent, torch.zeros_like(mask_latent)], dim=-2)
    if latents is None:
        latents = rng.standard_normal(tuple(context.shape), dtype=np.float32)
    x = torch.from_numpy(np.asarray(latents, dtype=np.float32).reshape(context.shape))
    scheduler_class, overrides = DIFFUSERS_SAMPLERS[sampler]
    scheduler = scheduler_class.from_config({**weights.scheduler_config, **overrides})
    scheduler.set_timesteps(steps)
    ddim = sampler == "ddim"
    stochastic = eta > 0 if ddim else scheduler.config.algorithm_type.startswith("sde")
    x = x * scheduler.init_noise_sigma
    guided = guidance_scale > 1.0
    if guided:
        context = torch.cat([torch.cat([masked_latent, torch.zeros_like(cond_latent)], dim=-2), context])
        mask_concat = torch.cat([mask_concat] * 2)
    for t in scheduler.timesteps:
        model_x = scheduler.scale_model_input(torch.cat([x] * 2) if guided else x, t)
        noise = unet(torch.cat([model_x, mask_concat, context], dim=1), t, encoder_hidden_states=None, return_dict=False)[0]
        if guided:
            uncond, cond = noise.chunk(2)
            noise = uncond + guidance_scale * (cond - uncond)
        step_noise = torch.from_numpy(rng.standard_normal(tuple(x.shape), dtype=np.float32)) if stochastic else None
        extra = {"eta": eta} if ddim else {}
        x = scheduler.step(noise, t, x, variance_noise=step_noise, **extra).prev_sample
    top = x.split(x.shape[-2] // 2, dim=-2)[0] / sf
    decoded = (vae.decode(top).sample / 2 + 0.5).clamp(0, 1)
    return (decoded[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
