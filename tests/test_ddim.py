"""numpy DDIM against diffusers' DDIMScheduler on the same inputs and noise."""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler as TorchDDIM

from vtonpipe.models.catvton.tiny import SD_SCHEDULER
from vtonpipe.models.common.ddim import DDIMScheduler

CONFIGS = {
    "sd15": SD_SCHEDULER,
    "defaults": {},
    "clipped-v": {**SD_SCHEDULER, "clip_sample": True, "clip_sample_range": 0.5, "prediction_type": "v_prediction"},
    "trailing": {**SD_SCHEDULER, "timestep_spacing": "trailing", "set_alpha_to_one": True},
}


def test_sd15_timesteps_are_leading_with_offset():
    scheduler = DDIMScheduler(SD_SCHEDULER)
    ts = scheduler.set_timesteps(50)
    assert ts[0] == 981 and ts[-1] == 1 and len(ts) == 50


def run_both(config, steps, eta, dtype):
    """Run both schedulers over a whole chain on the same inputs and noise; yield per-step pairs."""
    ours, ref = DDIMScheduler(config), TorchDDIM.from_config(config)
    ref.set_timesteps(steps)
    np.testing.assert_array_equal(ours.set_timesteps(steps), ref.timesteps.numpy())
    np.testing.assert_array_equal(ours.alphas_cumprod, ref.alphas_cumprod.numpy())
    rng = np.random.default_rng(steps)
    x = rng.standard_normal((2, 4, 8, 6)).astype(dtype)
    for t in ours.timesteps:
        # A model output that depends on the sample, as a real one does.
        out = (0.3 * x + rng.standard_normal(x.shape)).astype(dtype)
        noise = rng.standard_normal(x.shape).astype(dtype)
        mine = ours.step(out, t, x, eta=eta, variance_noise=noise)
        theirs = ref.step(
            torch.from_numpy(out), int(t), torch.from_numpy(x), eta=eta, variance_noise=torch.from_numpy(noise)
        ).prev_sample.numpy()
        yield mine, theirs
        x = theirs


def relative_error(mine, theirs):
    # diffusers keeps its scalars (alpha products) in float32 tensors; numpy rounds them the same
    # way but not always in the same op order, so errors are float32 ulps of the sample's scale.
    return np.abs(mine - theirs).max() / max(1.0, np.abs(theirs).max())


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("steps", [7, 50])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ddim_matches_diffusers(name, eta, steps, dtype):
    for mine, theirs in run_both(CONFIGS[name], steps, eta, dtype):
        assert mine.dtype == dtype
        assert relative_error(mine, theirs) < 1e-6


def test_step_noise_comes_from_the_generator():
    scheduler = DDIMScheduler(SD_SCHEDULER)
    scheduler.set_timesteps(10)
    x = np.ones((1, 4, 2, 2), np.float32)
    a = scheduler.step(x, 901, x, eta=1.0, generator=np.random.default_rng(5))
    b = scheduler.step(x, 901, x, eta=1.0, generator=np.random.default_rng(5))
    c = scheduler.step(x, 901, x, eta=1.0, generator=np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError):
        scheduler.step(x, 901, x, eta=1.0)
