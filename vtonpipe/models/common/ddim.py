"""DDIM sampling in numpy, equal to diffusers' DDIMScheduler (set_timesteps / step).

The scheduler is built from a diffusers scheduler config (the dict in scheduler_config.json); keys a
DDIM config does not know (PNDM's skip_prk_steps...) are ignored and missing keys take diffusers'
DDIM defaults, as `DDIMScheduler.from_pretrained` does. Randomness is explicit: `step` takes a
numpy Generator or the variance noise itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from vtonpipe.models.common.noise_schedule import alphas_cumprod


@dataclass(frozen=True)
class DDIMConfig:
    """The DDIM keys of a diffusers scheduler config; defaults are diffusers' DDIM defaults."""

    num_train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    beta_schedule: str = "linear"
    trained_betas: tuple[float, ...] | None = None
    clip_sample: bool = True
    set_alpha_to_one: bool = True
    steps_offset: int = 0
    prediction_type: str = "epsilon"
    thresholding: bool = False
    clip_sample_range: float = 1.0
    timestep_spacing: str = "leading"
    rescale_betas_zero_snr: bool = False

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> DDIMConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in config.items() if k in known}
        if values.get("trained_betas") is not None:
            values["trained_betas"] = tuple(float(b) for b in values["trained_betas"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class DDIMScheduler:
    """numpy DDIM: `set_timesteps(n)`, then `step(model_output, t, sample, eta=..., generator=...)`.

    `eta` given here is the default of every step (0: deterministic DDIM, 1: CatVTON's default).
    """

    order = 1
    init_noise_sigma = 1.0

    def __init__(self, config: DDIMConfig | dict[str, Any] | None = None, *, eta: float = 0.0):
        cfg = config if isinstance(config, DDIMConfig) else DDIMConfig.from_dict(config or {})
        if cfg.thresholding or cfg.rescale_betas_zero_snr:
            raise ValueError("DDIM thresholding and rescale_betas_zero_snr are not supported")
        if cfg.prediction_type not in ("epsilon", "sample", "v_prediction"):
            raise ValueError(f"unknown prediction_type {cfg.prediction_type!r}")
        self.config = cfg
        self.eta = float(eta)
        self.alphas_cumprod = alphas_cumprod(cfg.num_train_timesteps, cfg.beta_start, cfg.beta_end, cfg.beta_schedule,
                                             cfg.trained_betas)
        self.final_alpha_cumprod = np.float32(1.0) if cfg.set_alpha_to_one else self.alphas_cumprod[0]
        self.num_inference_steps: int | None = None
        self.timesteps = np.arange(cfg.num_train_timesteps)[::-1].copy().astype(np.int64)

    def set_timesteps(self, num_inference_steps: int) -> np.ndarray:
        cfg = self.config
        n_train = cfg.num_train_timesteps
        if not 0 < num_inference_steps <= n_train:
            raise ValueError(f"num_inference_steps must be in 1..{n_train}, got {num_inference_steps}")
        self.num_inference_steps = num_inference_steps
        if cfg.timestep_spacing == "linspace":
            ts = np.linspace(0, n_train - 1, num_inference_steps).round()[::-1].copy().astype(np.int64)
        elif cfg.timestep_spacing == "leading":
            ratio = n_train // num_inference_steps
            ts = (np.arange(0, num_inference_steps) * ratio).round()[::-1].copy().astype(np.int64)
            ts += cfg.steps_offset
        elif cfg.timestep_spacing == "trailing":
            ts = np.round(np.arange(n_train, 0, -n_train / num_inference_steps)).astype(np.int64) - 1
        else:
            raise ValueError(f"timestep_spacing {cfg.timestep_spacing!r} is not supported")
        self.timesteps = ts
        return ts

    @property
    def stochastic(self) -> bool:
        """Whether a step with the default eta adds noise."""
        return self.eta > 0

    def scale_model_input(self, sample: np.ndarray, timestep: int | None = None) -> np.ndarray:
        return sample

    def _alpha_prev(self, prev_t: int) -> np.float32:
        return self.alphas_cumprod[prev_t] if prev_t >= 0 else self.final_alpha_cumprod

    def step(
        self,
        model_output: np.ndarray,
        timestep: int,
        sample: np.ndarray,
        *,
        eta: float | None = None,
        generator: np.random.Generator | None = None,
        variance_noise: np.ndarray | None = None,
    ) -> np.ndarray:
        """x_t -> x_{t-1}. With eta > 0 the noise is `variance_noise`, else drawn from `generator`."""
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps before step")
        eta = self.eta if eta is None else eta
        cfg = self.config
        timestep = int(timestep)
        prev_t = timestep - cfg.num_train_timesteps // self.num_inference_steps
        a_t = self.alphas_cumprod[timestep]
        a_prev = self._alpha_prev(prev_t)
        b_t = 1 - a_t
        if cfg.prediction_type == "epsilon":
            x0 = (sample - b_t**0.5 * model_output) / a_t**0.5
            eps = model_output
        elif cfg.prediction_type == "sample":
            x0 = model_output
            eps = (sample - a_t**0.5 * x0) / b_t**0.5
        else:
            x0 = a_t**0.5 * sample - b_t**0.5 * model_output
            eps = a_t**0.5 * model_output + b_t**0.5 * sample
        if cfg.clip_sample:
            x0 = np.clip(x0, -cfg.clip_sample_range, cfg.clip_sample_range)
        variance = ((1 - a_prev) / b_t) * (1 - a_t / a_prev)
        std = eta * variance**0.5
        prev = a_prev**0.5 * x0 + (1 - a_prev - std**2) ** 0.5 * eps
        if eta > 0:
            if variance_noise is None:
                if generator is None:
                    raise ValueError("eta > 0 needs a generator or variance_noise")
                variance_noise = generator.standard_normal(model_output.shape, dtype=np.float32)
            prev = prev + std * variance_noise
        return prev.astype(sample.dtype, copy=False)
