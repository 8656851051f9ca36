"""Multistep DPM-Solver++ in numpy, equal to diffusers' DPMSolverMultistepScheduler (set_timesteps /
step) for the options below; other options raise ValueError.

Supported: algorithm_type "dpmsolver++" (ODE) and "sde-dpmsolver++" (draws noise every step),
solver_order 1 or 2, solver_type "midpoint" or "heun", epsilon / sample / v_prediction models,
timestep_spacing "linspace" / "leading" / "trailing", Karras sigmas, final sigma "zero" or
"sigma_min", lower_order_final, euler_at_final, lambda_min_clipped. Scalars are float32 as in
diffusers, which keeps its sigmas in float32 tensors; the sample is stepped in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from vtonpipe.models.common.noise_schedule import alphas_cumprod

F32 = np.float32


@dataclass(frozen=True)
class DPMSolverConfig:
    """The keys of a diffusers DPMSolverMultistepScheduler config; defaults are diffusers'."""

    num_train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    beta_schedule: str = "linear"
    trained_betas: tuple[float, ...] | None = None
    solver_order: int = 2
    prediction_type: str = "epsilon"
    thresholding: bool = False
    algorithm_type: str = "dpmsolver++"
    solver_type: str = "midpoint"
    lower_order_final: bool = True
    euler_at_final: bool = False
    use_karras_sigmas: bool = False
    use_exponential_sigmas: bool = False
    use_beta_sigmas: bool = False
    use_lu_lambdas: bool = False
    use_flow_sigmas: bool = False
    final_sigmas_type: str = "zero"
    lambda_min_clipped: float = -math.inf
    variance_type: str | None = None
    timestep_spacing: str = "linspace"
    steps_offset: int = 0
    rescale_betas_zero_snr: bool = False
    use_dynamic_shifting: bool = False

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> DPMSolverConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in config.items() if k in known}
        if values.get("trained_betas") is not None:
            values["trained_betas"] = tuple(float(b) for b in values["trained_betas"])
        return cls(**values)

    def check(self) -> None:
        unsupported = [name for name in ("thresholding", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
                                         "use_flow_sigmas", "rescale_betas_zero_snr", "use_dynamic_shifting")
                       if getattr(self, name)]
        if self.variance_type is not None:
            unsupported.append("variance_type")
        if unsupported:
            raise ValueError(f"DPM-Solver options not supported: {', '.join(unsupported)}")
        choices = {
            "algorithm_type": ("dpmsolver++", "sde-dpmsolver++"),
            "solver_order": (1, 2),
            "solver_type": ("midpoint", "heun"),
            "prediction_type": ("epsilon", "sample", "v_prediction"),
            "final_sigmas_type": ("zero", "sigma_min"),
            "timestep_spacing": ("linspace", "leading", "trailing"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"DPM-Solver {name} must be one of {allowed}, got {getattr(self, name)!r}")


def _sigma_to_t(sigma: float, log_sigmas: np.ndarray) -> float:
    """Fractional training timestep of a sigma, interpolated in log-sigma."""
    log_sigma = np.log(np.maximum(sigma, 1e-10))
    dists = log_sigma - log_sigmas[:, None]
    low = np.cumsum(dists >= 0, axis=0).argmax(axis=0).clip(max=log_sigmas.shape[0] - 2)
    w = np.clip((log_sigmas[low] - log_sigma) / (log_sigmas[low] - log_sigmas[low + 1]), 0, 1)
    return float(((1 - w) * low + w * (low + 1))[0])


def _alpha_sigma(sigma: np.float32) -> tuple[np.float32, np.float32]:
    """VP coefficients of a noise-to-signal ratio sigma: x_t = alpha_t x_0 + sigma_t eps."""
    alpha = F32(1) / np.sqrt(sigma * sigma + F32(1))  # torch computes x ** 0.5 as sqrt
    return alpha, sigma * alpha


def _lambda(alpha: np.float32, sigma: np.float32) -> np.float32:
    with np.errstate(divide="ignore"):  # sigma 0 at the end of the chain: lambda = +inf, as in torch
        return np.log(alpha) - np.log(sigma)


class DPMSolverMultistepScheduler:
    """numpy DPM-Solver++: `set_timesteps(n)`, then `step(model_output, t, sample)` in timestep order.

    The SDE variant needs per-step noise: `variance_noise`, else drawn from `generator`.
    """

    order = 1
    init_noise_sigma = 1.0

    def __init__(self, config: DPMSolverConfig | dict[str, Any] | None = None):
        cfg = config if isinstance(config, DPMSolverConfig) else DPMSolverConfig.from_dict(config or {})
        cfg.check()
        self.config = cfg
        self.alphas_cumprod = alphas_cumprod(cfg.num_train_timesteps, cfg.beta_start, cfg.beta_end, cfg.beta_schedule,
                                             cfg.trained_betas)
        ac = self.alphas_cumprod
        self.lambda_t = np.log(np.sqrt(ac)) - np.log(np.sqrt(F32(1) - ac))
        self.num_inference_steps: int | None = None
        self.timesteps = np.arange(cfg.num_train_timesteps)[::-1].copy().astype(np.int64)
        self.sigmas = np.sqrt((F32(1) - ac) / ac)
        self._reset()

    @property
    def stochastic(self) -> bool:
        """Whether each step adds noise (the SDE variant)."""
        return self.config.algorithm_type == "sde-dpmsolver++"

    def _reset(self) -> None:
        self.model_outputs: list[np.ndarray | None] = [None] * self.config.solver_order
        self.lower_order_nums = 0
        self.step_index: int | None = None

    def _spaced_timesteps(self, n: int) -> np.ndarray:
        cfg = self.config
        clipped = int(np.searchsorted(np.flip(self.lambda_t), cfg.lambda_min_clipped))
        last = cfg.num_train_timesteps - clipped
        if cfg.timestep_spacing == "linspace":
            return np.linspace(0, last - 1, n + 1).round()[::-1][:-1].copy().astype(np.int64)
        if cfg.timestep_spacing == "leading":
            ratio = last // (n + 1)
            return (np.arange(0, n + 1) * ratio).round()[::-1][:-1].copy().astype(np.int64) + cfg.steps_offset
        ratio = cfg.num_train_timesteps / n
        return np.arange(last, 0, -ratio).round().copy().astype(np.int64) - 1

    def set_timesteps(self, num_inference_steps: int) -> np.ndarray:
        cfg = self.config
        if not 0 < num_inference_steps <= cfg.num_train_timesteps:
            raise ValueError(f"num_inference_steps must be in 1..{cfg.num_train_timesteps}, got {num_inference_steps}")
        timesteps = self._spaced_timesteps(num_inference_steps)
        ac = self.alphas_cumprod
        train_sigmas = np.sqrt((F32(1) - ac) / ac)
        if cfg.use_karras_sigmas:
            log_sigmas = np.log(train_sigmas)
            low, high = float(train_sigmas[0]), float(train_sigmas[-1])
            rho = 7.0
            ramp = np.linspace(0, 1, num_inference_steps)
            sigmas = (high ** (1 / rho) + ramp * (low ** (1 / rho) - high ** (1 / rho))) ** rho
            timesteps = np.array([_sigma_to_t(s, log_sigmas) for s in sigmas]).round().astype(np.int64)
        else:
            sigmas = np.interp(timesteps, np.arange(len(train_sigmas)), train_sigmas)
        last = train_sigmas[0] if cfg.final_sigmas_type == "sigma_min" else 0.0
        self.sigmas = np.concatenate([sigmas, [last]]).astype(np.float32)
        self.timesteps = timesteps
        self.num_inference_steps = len(timesteps)
        self._reset()
        return timesteps

    def scale_model_input(self, sample: np.ndarray, timestep: int | None = None) -> np.ndarray:
        return sample

    def _data_prediction(self, model_output: np.ndarray, sample: np.ndarray) -> np.ndarray:
        """The model output as a prediction of x_0."""
        kind = self.config.prediction_type
        if kind == "sample":
            return model_output
        alpha, sigma = _alpha_sigma(self.sigmas[self.step_index])
        if kind == "epsilon":
            return (sample - sigma * model_output) / alpha
        return alpha * sample - sigma * model_output

    def _init_step_index(self, timestep: int) -> None:
        # Like diffusers: the position of the timestep, the second one if it appears twice.
        hits = np.flatnonzero(self.timesteps == timestep)
        self.step_index = len(self.timesteps) - 1 if len(hits) == 0 else int(hits[1] if len(hits) > 1 else hits[0])

    def step(
        self,
        model_output: np.ndarray,
        timestep: int,
        sample: np.ndarray,
        *,
        generator: np.random.Generator | None = None,
        variance_noise: np.ndarray | None = None,
    ) -> np.ndarray:
        """x_t -> x_{t_next}; model outputs of earlier steps are kept for the second-order update."""
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps before step")
        cfg = self.config
        if self.step_index is None:
            self._init_step_index(int(timestep))
        i, n = self.step_index, len(self.timesteps)
        few = cfg.lower_order_final and n < 15
        first_order_final = i == n - 1 and (cfg.euler_at_final or few or cfg.final_sigmas_type == "zero")
        x0 = self._data_prediction(model_output, sample)
        self.model_outputs = self.model_outputs[1:] + [x0]
        sample = sample.astype(np.float32, copy=False)
        noise = None
        if self.stochastic:
            if variance_noise is None:
                if generator is None:
                    raise ValueError("sde-dpmsolver++ needs a generator or variance_noise")
                variance_noise = generator.standard_normal(model_output.shape, dtype=np.float32)
            noise = variance_noise.astype(np.float32, copy=False)
        if cfg.solver_order == 1 or self.lower_order_nums < 1 or first_order_final:
            prev = self._first_order(x0, sample, noise)
        else:
            prev = self._second_order(sample, noise)
        self.lower_order_nums = min(self.lower_order_nums + 1, cfg.solver_order)
        self.step_index += 1
        return prev.astype(x0.dtype, copy=False)

    def _coefficients(self, offset: int) -> tuple[np.float32, np.float32, np.float32]:
        alpha, sigma = _alpha_sigma(self.sigmas[self.step_index + offset])
        return alpha, sigma, _lambda(alpha, sigma)

    def _first_order(self, x0: np.ndarray, sample: np.ndarray, noise: np.ndarray | None) -> np.ndarray:
        alpha_t, sigma_t, lambda_t = self._coefficients(1)
        _, sigma_s, lambda_s = self._coefficients(0)
        h = lambda_t - lambda_s
        if noise is None:
            return (sigma_t / sigma_s) * sample - (alpha_t * (np.exp(-h) - F32(1))) * x0
        return ((sigma_t / sigma_s * np.exp(-h)) * sample + (alpha_t * (F32(1) - np.exp(F32(-2) * h))) * x0
                + sigma_t * np.sqrt(F32(1) - np.exp(F32(-2) * h)) * noise)

    def _second_order(self, sample: np.ndarray, noise: np.ndarray | None) -> np.ndarray:
        alpha_t, sigma_t, lambda_t = self._coefficients(1)
        _, sigma_s0, lambda_s0 = self._coefficients(0)
        _, _, lambda_s1 = self._coefficients(-1)
        m1, m0 = self.model_outputs[-2], self.model_outputs[-1]
        h, h0 = lambda_t - lambda_s0, lambda_s0 - lambda_s1
        d0, d1 = m0, (F32(1) / (h0 / h)) * (m0 - m1)
        heun = self.config.solver_type == "heun"
        if noise is None:
            decay = alpha_t * (np.exp(-h) - F32(1))
            correction = (alpha_t * ((np.exp(-h) - F32(1)) / h + F32(1))) * d1 if heun else F32(0.5) * decay * d1
            return (sigma_t / sigma_s0) * sample - decay * d0 + (correction if heun else -correction)
        gain = alpha_t * (F32(1) - np.exp(F32(-2) * h))
        correction = (alpha_t * ((F32(1) - np.exp(F32(-2) * h)) / (F32(-2) * h) + F32(1))) * d1 if heun else F32(0.5) * gain * d1
        return ((sigma_t / sigma_s0 * np.exp(-h)) * sample + gain * d0 + correction
                + sigma_t * np.sqrt(F32(1) - np.exp(F32(-2) * h)) * noise)
