"""The discrete noise schedule diffusers' schedulers share, in numpy, rounded as diffusers rounds it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _linspace32(start: float, end: float, n: int) -> np.ndarray:
    """float32 linspace computed as torch's CPU kernel does (fused multiply-add from each end)."""
    start32, end32 = np.float32(start), np.float32(end)
    step = np.float64((end32 - start32) / np.float32(n - 1))
    i = np.arange(n)
    values = np.where(i < n // 2, np.float64(start32) + step * i, np.float64(end32) - step * (n - i - 1))
    return values.astype(np.float32)


def betas(num_train_timesteps: int, beta_start: float, beta_end: float, beta_schedule: str,
          trained_betas: Sequence[float] | None = None) -> np.ndarray:
    """float32 betas exactly like diffusers (torch), so alphas_cumprod matches it bit for bit."""
    if trained_betas is not None:
        return np.asarray(trained_betas, dtype=np.float32)
    if beta_schedule == "linear":
        return _linspace32(beta_start, beta_end, num_train_timesteps)
    if beta_schedule == "scaled_linear":
        return _linspace32(beta_start**0.5, beta_end**0.5, num_train_timesteps) ** 2
    raise ValueError(f"beta_schedule {beta_schedule!r} is not supported (linear, scaled_linear)")


def alphas_cumprod(num_train_timesteps: int, beta_start: float, beta_end: float, beta_schedule: str,
                   trained_betas: Sequence[float] | None = None) -> np.ndarray:
    """float32 cumulative products of 1 - beta."""
    b = betas(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas)
    # torch.cumprod accumulates float32 in double on CPU; do the same to match diffusers.
    return np.cumprod((1.0 - b).astype(np.float64)).astype(np.float32)
