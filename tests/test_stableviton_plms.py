"""numpy PLMS (models/common/plms.py) against the latent-diffusion PLMS formulas, diffusers'
PNDMScheduler with skip_prk_steps where their grids coincide, and the official StableVITON
sampler (cldm/plms_hacked.py at rlawjdghek/StableVITON 50a741c, when its snapshot is present)."""

import types

import numpy as np
import pytest
import torch

from vtonpipe.errors import ConfigError
from vtonpipe.models.common.plms import PLMSScheduler, plms_grid


def ldm_alphas_cumprod() -> np.ndarray:
    """The official float32 buffer: sqrt-linear betas 0.00085..0.012 in float64."""
    betas = (torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2).numpy()
    return np.cumprod(1.0 - betas).astype(np.float32)


AC = ldm_alphas_cumprod()


def fake_eps(x: np.ndarray, t: int) -> np.ndarray:
    """A deterministic stand-in for the denoiser."""
    return np.tanh(x * np.float32(0.7) + np.float32(t / 1000.0)).astype(np.float32)


def run(steps: int, x: np.ndarray) -> tuple[np.ndarray, list[int]]:
    scheduler = PLMSScheduler(AC)
    calls = []
    for t in scheduler.set_timesteps(steps):
        calls.append(int(t))
        x = scheduler.step(fake_eps(x, t), t, x)
    return x, calls


def replay(steps: int, x: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The PLMS loop written out from its formulas."""
    c = 1000 // steps
    grid = (np.arange(0, 1000, c) + 1)[::-1]
    calls, old = [], []
    one = np.float32(1)

    def model(x, t):
        calls.append(int(t))
        return fake_eps(x, t)

    for k, t in enumerate(grid):
        a = AC[t]
        a_prev = AC[grid[k + 1]] if k + 1 < len(grid) else AC[0]

        def update(x, e):
            x0 = (x - np.sqrt(one - a) * e) / np.sqrt(a)
            return np.sqrt(a_prev) * x0 + np.sqrt(one - a_prev) * e

        e = model(x, t)
        if not old:
            e_next = model(update(x, e), grid[min(k + 1, len(grid) - 1)])
            e_prime = (e + e_next) / 2
        elif len(old) == 1:
            e_prime = (3 * e - old[-1]) / 2
        elif len(old) == 2:
            e_prime = (23 * e - 16 * old[-1] + 5 * old[-2]) / 12
        else:
            e_prime = (55 * e - 59 * old[-1] + 37 * old[-2] - 9 * old[-3]) / 24
        x = update(x, e_prime)
        old = (old + [e])[-3:]
    return x, calls


def start() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((2, 4, 8, 6)).astype(np.float32)


def test_grid_and_call_timesteps():
    assert plms_grid(50)[0] == 1 and plms_grid(50)[-1] == 981 and len(plms_grid(50)) == 50
    assert list(PLMSScheduler(AC).set_timesteps(4)) == [751, 501, 501, 251, 1]
    assert list(PLMSScheduler(AC).set_timesteps(1)) == [1, 1]
    assert len(PLMSScheduler(AC).set_timesteps(50)) == 51
    assert (len(plms_grid(6)), len(plms_grid(7)), len(plms_grid(30))) == (7, 8, 31)
    # c = 1000 // steps: 100 -> 10 and 250 -> 4 keep 999 off the grid, so these run.
    assert (plms_grid(100)[-1], plms_grid(250)[-1]) == (991, 997)


@pytest.mark.parametrize("steps", [3, 9, 27, 37, 101, 111, 251, 333, 501, 1000, 0, 1001])
def test_step_counts_the_official_grid_cannot_run_are_refused(steps):
    with pytest.raises(ConfigError, match="steps"):
        plms_grid(steps)


def test_refusal_names_runnable_counts():
    with pytest.raises(ConfigError, match="use 2 or 4 steps"):
        plms_grid(3)


@pytest.mark.parametrize("steps", [1, 2, 4, 6, 50])
def test_matches_the_formulas_exactly(steps):
    ours, calls = run(steps, start())
    expected, expected_calls = replay(steps, start())
    assert calls == expected_calls and len(calls) == len(plms_grid(steps)) + 1
    assert np.array_equal(ours, expected)


@pytest.mark.parametrize("steps", [4, 10, 50])
def test_matches_diffusers_pndm_where_grids_coincide(steps):
    from diffusers import PNDMScheduler

    pndm = PNDMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         skip_prk_steps=True, steps_offset=1, set_alpha_to_one=False)
    pndm.alphas_cumprod = torch.from_numpy(AC)  # the checkpoint's buffer, not diffusers' float32 recomputation
    pndm.final_alpha_cumprod = torch.tensor(AC[0])
    pndm.set_timesteps(steps)
    ours, calls = run(steps, start())
    assert [int(t) for t in pndm.timesteps] == calls
    x = torch.from_numpy(start())
    for t in pndm.timesteps:
        x = pndm.step(torch.from_numpy(fake_eps(x.numpy(), int(t))), t, x).prev_sample
    np.testing.assert_allclose(ours, x.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("steps", [1, 4, 6, 50])
def test_matches_the_official_sampler(tmp_path, steps):
    # Same calls and formulas; torch's CPU float32 sqrt of the step coefficients can be one ulp
    # off the correctly rounded value numpy computes, hence a tolerance instead of equality.
    from stableviton_official import official_code

    from vtonpipe.models.stableviton.tiny import TINY_CONFIG

    with official_code(tmp_path, TINY_CONFIG) as (_, commit, _inference):
        import cldm.plms_hacked as plms

        calls = []

        def apply_model(x, t, c):
            calls.append(int(t[0]))
            return torch.from_numpy(fake_eps(x.numpy(), int(t[0]))), None

        ac = torch.from_numpy(AC)
        model = types.SimpleNamespace(num_timesteps=1000, alphas_cumprod=ac, betas=1 - ac, alphas_cumprod_prev=ac,
                                      device=torch.device("cpu"), apply_model=apply_model)
        sampler = plms.PLMSSampler(model)
        sampler.register_buffer = lambda name, value: setattr(sampler, name, value)
        x_t = torch.from_numpy(start())
        official, _, _ = sampler.sample(steps, 2, (4, 8, 6), conditioning=None, x_T=x_t, eta=0.0, verbose=False)
    ours, our_calls = run(steps, start())
    assert our_calls == calls, f"upstream {commit}"
    np.testing.assert_allclose(ours, official.numpy(), rtol=1e-6, atol=1e-5, err_msg=f"upstream {commit}")
