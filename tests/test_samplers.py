"""numpy samplers against diffusers' schedulers of the same name on the same inputs and noise."""

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler

from vtonpipe.models.catvton.reference import DIFFUSERS_SAMPLERS
from vtonpipe.models.catvton.tiny import SD_SCHEDULER
from vtonpipe.models.common.dpm_solver import DPMSolverMultistepScheduler as NumpyDPM
from vtonpipe.models.common.samplers import SAMPLERS, build_sampler

DPM_VARIANTS = {
    "heun": {"solver_type": "heun"},
    "sde-heun": {"algorithm_type": "sde-dpmsolver++", "solver_type": "heun"},
    "order1": {"solver_order": 1},
    "leading": {"timestep_spacing": "leading"},
    "trailing-sigma-min": {"timestep_spacing": "trailing", "final_sigmas_type": "sigma_min"},
    "v-euler-final": {"prediction_type": "v_prediction", "euler_at_final": True, "final_sigmas_type": "sigma_min"},
    "sample-no-lower-final": {"prediction_type": "sample", "lower_order_final": False, "final_sigmas_type": "sigma_min"},
    "linear-clipped": {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02, "lambda_min_clipped": -5.0},
}


def relative_error(mine, theirs):
    # float32 ulps of the sample's scale (diffusers keeps its scalars in float32 tensors).
    return np.abs(mine - theirs).max() / max(1.0, np.abs(theirs).max())


def run_both(ours, ref, steps, stochastic):
    """Whole chains of both on the same model outputs and noise; yields per-step pairs."""
    ref.set_timesteps(steps)
    np.testing.assert_array_equal(ours.set_timesteps(steps), ref.timesteps.numpy())
    rng = np.random.default_rng(steps)
    x = rng.standard_normal((2, 4, 8, 6)).astype(np.float32)
    for t in ours.timesteps:
        out = (0.3 * x + rng.standard_normal(x.shape)).astype(np.float32)  # depends on x, as a model does
        noise = rng.standard_normal(x.shape).astype(np.float32) if stochastic else None
        mine = ours.step(out, t, x, variance_noise=noise)
        theirs = ref.step(torch.from_numpy(out), int(t), torch.from_numpy(x),
                          variance_noise=None if noise is None else torch.from_numpy(noise)).prev_sample.numpy()
        yield mine, theirs
        x = theirs


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("steps", [5, 20, 25, 50])
def test_registry_matches_diffusers_on_the_sd_config(name, steps):
    assert sorted(DIFFUSERS_SAMPLERS) == sorted(SAMPLERS)
    cls, overrides = DIFFUSERS_SAMPLERS[name]
    ours = build_sampler(name, SD_SCHEDULER, eta=1.0)
    ref = cls.from_config({**SD_SCHEDULER, **overrides})
    kwargs = {"eta": 1.0} if name == "ddim" else {}
    ref_step = ref.step
    ref.step = lambda *a, **k: ref_step(*a, **k, **kwargs)
    for mine, theirs in run_both(ours, ref, steps, ours.stochastic):
        assert mine.dtype == np.float32 and relative_error(mine, theirs) < 1e-6


@pytest.mark.parametrize("variant", sorted(DPM_VARIANTS))
@pytest.mark.parametrize("steps", [7, 25])
def test_dpm_solver_options_match_diffusers(variant, steps):
    config = {**SD_SCHEDULER, **DPM_VARIANTS[variant]}
    ours, ref = NumpyDPM(config), DPMSolverMultistepScheduler.from_config(config)
    for mine, theirs in run_both(ours, ref, steps, ours.stochastic):
        assert relative_error(mine, theirs) < 1e-6


def test_dpm_solver_uses_dpm_defaults_for_missing_keys():
    # The SD config names no timestep_spacing: DDIM's default is "leading", DPM-Solver's "linspace".
    assert build_sampler("ddim", SD_SCHEDULER).set_timesteps(25)[0] == 961
    assert build_sampler("dpmpp-2m", SD_SCHEDULER).set_timesteps(25)[0] == 999


def test_unknown_names_and_options_are_refused():
    with pytest.raises(ValueError, match="dpmpp-2m"):
        build_sampler("euler", SD_SCHEDULER)
    with pytest.raises(ValueError, match="thresholding"):
        NumpyDPM({**SD_SCHEDULER, "thresholding": True})
    with pytest.raises(ValueError, match="solver_order"):
        NumpyDPM({**SD_SCHEDULER, "solver_order": 3})
