"""numpy samplers by name, each built from a diffusers scheduler config (the dict of
scheduler_config.json; keys a sampler does not know are ignored, missing keys take that
sampler's diffusers defaults, as `from_config` does).

Every sampler has `init_noise_sigma`, `set_timesteps(n) -> timesteps`, `scale_model_input(x, t)`,
`step(model_output, t, x, *, variance_noise=None, generator=None) -> x_next` (called in timestep
order) and `stochastic` (whether `step` needs noise). `eta` is DDIM's; the others ignore it.

    ddim             diffusers DDIMScheduler (CatVTON's sampler; eta 1 draws noise every step)
    dpmpp-2m         DPMSolverMultistepScheduler, DPM-Solver++ second order (deterministic)
    dpmpp-2m-karras  the same on Karras sigmas
    dpmpp-2m-sde     DPMSolverMultistepScheduler, SDE DPM-Solver++ second order (noise every step)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vtonpipe.models.common.ddim import DDIMScheduler
from vtonpipe.models.common.dpm_solver import DPMSolverMultistepScheduler

Sampler = DDIMScheduler | DPMSolverMultistepScheduler


def _dpm(**overrides: Any) -> Callable[[dict[str, Any], float], Sampler]:
    base = {"solver_order": 2, "use_karras_sigmas": False, **overrides}
    return lambda config, eta: DPMSolverMultistepScheduler({**config, **base})


SAMPLERS: dict[str, Callable[[dict[str, Any], float], Sampler]] = {
    "ddim": lambda config, eta: DDIMScheduler(config, eta=eta),
    "dpmpp-2m": _dpm(algorithm_type="dpmsolver++"),
    "dpmpp-2m-karras": _dpm(algorithm_type="dpmsolver++", use_karras_sigmas=True),
    "dpmpp-2m-sde": _dpm(algorithm_type="sde-dpmsolver++"),
}


def build_sampler(name: str, config: dict[str, Any], *, eta: float = 0.0) -> Sampler:
    """A fresh sampler `name` for one chain; ValueError naming the choices for an unknown name."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    return SAMPLERS[name](dict(config), eta)
