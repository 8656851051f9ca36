"""PLMS sampling in numpy, step for step as latent-diffusion's PLMS sampler (the one StableVITON
and other LDM-codebase models use), with a diffusers-like interface: `set_timesteps(n)` returns
the timestep of every model call, `step(model_output, t, sample)` is called once per call.

Shared by the families built on the original latent-diffusion code.

Grid: c = T // n, timesteps 1, c+1, 2c+1, ... below T, run from the largest; that is
len(range(0, T, c)) steps, which can exceed n (n = 6 gives 7). When T - 1 is a multiple of c
the grid reaches T and the original sampler crashes on it: those step counts are refused.
Update at grid index k with eps e, in float32 with correctly rounded square roots (torch's CPU
sqrt, which the original applies to some coefficients, can be one ulp off: results agree to
about 1e-6, not bit for bit): x0 = (x - sqrt(1 - a_k) e) / sqrt(a_k),
x' = sqrt(a_prev) x0 + sqrt(1 - a_prev) e, where a_k = alphas_cumprod[t_k] and a_prev is that of
the next (smaller) grid timestep, alphas_cumprod[0] after the last (eta = 0, no noise).
Eps combination: the first step runs the model twice (a predictor step to the next grid
timestep, then the mean of both eps, "pseudo improved Euler"); later steps use Adams-Bashforth
on the history of raw model outputs of orders 2, 3 and 4. Model calls = steps + 1.
"""

from __future__ import annotations

import numpy as np

from vtonpipe.errors import ConfigError


def plms_grid(num_inference_steps: int, num_train_timesteps: int = 1000) -> np.ndarray:
    """The ascending timestep grid for `num_inference_steps`; ConfigError where the original
    sampler cannot run that count (it would index alphas_cumprod at T)."""
    n, total = int(num_inference_steps), num_train_timesteps
    if not 0 < n <= total:
        raise ConfigError(f"steps must be in 1..{total}, got {n}")
    grid = np.arange(0, total, total // n, dtype=np.int64) + 1
    if grid[-1] >= total:
        near = sorted((s for s in range(1, total + 1) if (total - 1) % (total // s)), key=lambda s: (abs(s - n), s))[:2]
        raise ConfigError(f"{n} steps put timestep {total} on the PLMS grid, where the official sampler crashes; "
                          f"use {' or '.join(map(str, near))} steps")
    return grid


class PLMSScheduler:
    """numpy PLMS: `set_timesteps(n)`, then `step(model_output, t, sample)` per model call."""

    order = 1
    init_noise_sigma = 1.0

    def __init__(self, alphas_cumprod: np.ndarray):
        self.alphas_cumprod = np.asarray(alphas_cumprod, dtype=np.float32)
        self.timesteps = np.zeros(0, dtype=np.int64)
        self.num_inference_steps: int | None = None

    def set_timesteps(self, num_inference_steps: int) -> np.ndarray:
        """Timesteps of the model calls: the largest grid timestep, the predictor's second call
        at the next one, then one call per remaining grid timestep."""
        grid = plms_grid(num_inference_steps, len(self.alphas_cumprod))
        self.grid = grid[::-1].copy()
        self.num_inference_steps = len(grid)
        g = self.grid
        self.timesteps = np.concatenate([g[:1], g[min(1, len(g) - 1):][:1], g[1:]])
        self._calls = 0
        self._history: list[np.ndarray] = []
        return self.timesteps

    def scale_model_input(self, sample: np.ndarray, timestep: int | None = None) -> np.ndarray:
        return sample

    def _update(self, x: np.ndarray, eps: np.ndarray, k: int) -> np.ndarray:
        ac = self.alphas_cumprod
        a_t = ac[self.grid[k]]
        a_prev = ac[self.grid[k + 1]] if k + 1 < len(self.grid) else ac[0]
        one = np.float32(1.0)
        x0 = (x - np.sqrt(one - a_t) * eps) / np.sqrt(a_t)
        return np.sqrt(a_prev) * x0 + np.sqrt(one - a_prev) * eps

    def step(self, model_output: np.ndarray, timestep: int, sample: np.ndarray) -> np.ndarray:
        """The sample for the next model call (after the last call: the final sample)."""
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps before step")
        call, self._calls = self._calls, self._calls + 1
        if int(timestep) != int(self.timesteps[call]):
            raise ValueError(f"model call {call} should be at timestep {self.timesteps[call]}, got {timestep}")
        e = model_output.astype(np.float32, copy=False)
        if call == 0:  # predictor: step with e, evaluate again at the next grid timestep
            self._start = sample
            self._history = [e]
            return self._update(sample, e, 0)
        h = self._history
        if call == 1:  # the predictor's output is not kept in the history
            return self._update(self._start, (h[0] + e) / 2, 0)
        if len(h) == 1:
            combined = (3 * e - h[-1]) / 2
        elif len(h) == 2:
            combined = (23 * e - 16 * h[-1] + 5 * h[-2]) / 12
        else:
            combined = (55 * e - 59 * h[-1] + 37 * h[-2] - 9 * h[-3]) / 24
        self._history = (h + [e])[-3:]
        return self._update(sample, combined, call - 1)
