"""StableVITON as torch modules whose state_dict keys are those of the released VITONHD.ckpt
(convert extra), the official noise schedule, and the four modules exported as IRs.

Top-level names: `model.diffusion_model` (UNet + warp blocks), `control_model` (spatial
encoder), `first_stage_model` (KL autoencoder), `cond_stage_model` (CLIP tower, mapper,
final_ln), `proj_out` (CLIP width -> 768), `learnable_vector` (the unconditional context), and
the schedule buffers the sampler reads.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vtonpipe.models.stableviton.config import StableVITONConfig
from vtonpipe.models.stableviton.image_encoder import ImageEncoder, clip_pixels
from vtonpipe.models.stableviton.unet import SpatialEncoder, StableVITONUNet
from vtonpipe.models.stableviton.vae import AutoencoderKL

# Every schedule buffer of the official LatentDiffusion; the model reads the USED ones.
SCHEDULE_BUFFERS = (
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
    "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar",
)
USED_BUFFERS = ("alphas_cumprod", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod")


def official_schedule(cfg: StableVITONConfig) -> dict[str, torch.Tensor]:
    """The schedule buffers as the official model registers them: betas from a float64
    linspace of sqrt(beta) squared, products in float64, each buffer stored as float32."""
    betas = (torch.linspace(cfg.linear_start**0.5, cfg.linear_end**0.5, cfg.timesteps, dtype=torch.float64) ** 2).numpy()
    alphas = 1.0 - betas
    ac = np.cumprod(alphas, axis=0)
    ac_prev = np.append(1.0, ac[:-1])
    posterior_variance = betas * (1.0 - ac_prev) / (1.0 - ac)
    values = {
        "betas": betas,
        "alphas_cumprod": ac,
        "alphas_cumprod_prev": ac_prev,
        "sqrt_alphas_cumprod": np.sqrt(ac),
        "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - ac),
        "log_one_minus_alphas_cumprod": np.log(1.0 - ac),
        "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / ac),
        "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / ac - 1),
        "posterior_variance": posterior_variance,
        "posterior_log_variance_clipped": np.log(np.maximum(posterior_variance, 1e-20)),
        "posterior_mean_coef1": betas * np.sqrt(ac_prev) / (1.0 - ac),
        "posterior_mean_coef2": (1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac),
        "logvar": np.zeros(cfg.timesteps),
    }
    return {name: torch.tensor(values[name], dtype=torch.float32) for name in SCHEDULE_BUFFERS}


class StableVITON(nn.Module):
    """The whole model in the checkpoint's layout (no forward: the IR modules below run it)."""

    def __init__(self, cfg: StableVITONConfig):
        super().__init__()
        self.cfg = cfg
        self.model = nn.Module()
        self.model.diffusion_model = StableVITONUNet(cfg.unet)
        self.control_model = SpatialEncoder(cfg.unet)
        self.first_stage_model = AutoencoderKL(cfg.vae)
        self.cond_stage_model = ImageEncoder(cfg.image_encoder)
        self.proj_out = nn.Linear(cfg.image_encoder.hidden_size, cfg.context_dim)
        self.learnable_vector = nn.Parameter(torch.zeros(1, 1, cfg.context_dim))
        for name in USED_BUFFERS:
            self.register_buffer(name, torch.zeros(cfg.timesteps))

    def drop_unused(self) -> StableVITON:
        """Remove the spatial encoder's input blocks past those the warp blocks read, and its
        middle block: the official model computes them and discards their outputs."""
        keep = self.cfg.unet.warp_blocks
        self.control_model.input_blocks = nn.ModuleList(list(self.control_model.input_blocks)[:keep])
        del self.control_model.middle_block
        return self


class GarmentEncoderIR(nn.Module):
    """cloth [B,3,H,W] in [-1,1] -> (context [B,1,768], null_context [B,1,768])."""

    def __init__(self, model: StableVITON):
        super().__init__()
        self.encoder = model.cond_stage_model
        self.proj_out = model.proj_out
        self.learnable_vector = model.learnable_vector
        self.size = model.cfg.image_encoder.image_size

    def forward(self, cloth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        context = self.proj_out(self.encoder(clip_pixels(cloth, self.size)))
        return context, self.learnable_vector.expand(cloth.shape[0], -1, -1)


class VAEEncoderIR(nn.Module):
    """image [N,3,H,W] in [-1,1] -> posterior (mean, clamped logvar), unscaled."""

    def __init__(self, model: StableVITON):
        super().__init__()
        self.vae = model.first_stage_model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vae.encode(image)


class DenoiserIR(nn.Module):
    """One noise prediction: spatial encoder, then the UNet with its warp blocks, both on
    cat([x, cond]) (13 channels), the cloth latent entering the spatial encoder only."""

    def __init__(self, model: StableVITON):
        super().__init__()
        self.unet = model.model.diffusion_model
        self.control = model.control_model

    def forward(self, x: torch.Tensor, cond: torch.Tensor, cloth_latent: torch.Tensor, context: torch.Tensor,
                t: torch.Tensor) -> torch.Tensor:
        x_in = torch.cat([x, cond], dim=1)
        return self.unet(x_in, t, context, self.control(x_in, cloth_latent, t, context))


class VAEDecoderIR(nn.Module):
    """Sampler latent [B,4,h,w] -> image [B,3,H,W]: divide by the scale factor, decode."""

    def __init__(self, model: StableVITON):
        super().__init__()
        self.vae = model.first_stage_model
        self.inverse_scale = 1.0 / model.cfg.scale_factor

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent * self.inverse_scale)
