"""CatVTON torch vs OpenVINO on the tiny preset: UNet, VAE and the whole pipeline."""

import numpy as np
import pytest
import torch
from PIL import Image

from vtonpipe.models.catvton.checkpoint import load_checkpoint
from vtonpipe.models.catvton.definition import UNetStep, VAEDecoder, VAEEncoder
from vtonpipe.models.catvton.reference import reference_tryon
from vtonpipe.models.catvton.runtime import CatVTONRuntime

H, W = 64, 48


@pytest.fixture(scope="module")
def tiny(tiny_ir):
    root = ir = tiny_ir("catvton", height=H, width=W)
    return load_checkpoint(root / "tiny-weights", "mix"), CatVTONRuntime(ir)


def smooth_image(rng, h, w):
    return np.asarray(Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC))


@pytest.fixture
def pair():
    rng = np.random.default_rng(7)
    mask = np.zeros((90, 70), np.uint8)
    mask[20:75, 10:60] = 255
    return smooth_image(rng, 90, 70), smooth_image(rng, 80, 80), mask


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_unet_ir_matches_torch(tiny):
    weights, rt = tiny
    rng = np.random.default_rng(0)
    sample = rng.standard_normal((2, 9, 2 * H // 8, W // 8)).astype(np.float32)
    for t in (981.0, 1.0):
        with torch.no_grad():
            expected = UNetStep(weights.unet)(torch.from_numpy(sample), torch.tensor([t])).numpy()
        got = rt.unet({"sample": sample, "timestep": np.array([t], np.float32)})[0]
        assert rel_l2(got, expected) < 1e-4


def test_vae_irs_match_torch(tiny):
    weights, rt = tiny
    rng = np.random.default_rng(1)
    image = rng.uniform(-1, 1, (2, 3, H, W)).astype(np.float32)
    with torch.no_grad():
        mean, logvar = (t.numpy() for t in VAEEncoder(weights.vae)(torch.from_numpy(image)))
        decoded = VAEDecoder(weights.vae)(torch.from_numpy(mean[:1])).numpy()
    got = rt.encoder(image)
    assert rel_l2(got[0], mean) < 1e-4 and rel_l2(got[1], logvar) < 1e-4
    assert rel_l2(rt.decoder(mean[:1])[0], decoded) < 1e-4


def test_pipeline_matches_reference_with_given_latents(tiny, pair):
    weights, rt = tiny
    latents = np.random.default_rng(3).standard_normal(rt.latent_shape).astype(np.float32)
    kwargs = dict(steps=6, guidance_scale=2.5, eta=0.0, latents=latents, vae_sample=False)
    ours = rt(*pair, **kwargs)
    ref = reference_tryon(weights, *pair, height=H, width=W, **kwargs)
    assert ours.shape == (H, W, 3) and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - ref).max() <= 2


@pytest.mark.parametrize("guidance_scale", [2.5, 1.0])
def test_pipeline_matches_reference_stochastic(tiny, pair, guidance_scale):
    # eta=1 and VAE sampling: the same seed draws the same noise in the same order in both.
    weights, rt = tiny
    kwargs = dict(steps=4, guidance_scale=guidance_scale, eta=1.0, seed=11, vae_sample=True)
    ours = rt(*pair, **kwargs)
    ref = reference_tryon(weights, *pair, height=H, width=W, **kwargs)
    assert np.abs(ours.astype(int) - ref).max() <= 2


def test_seed_controls_the_result(tiny, pair):
    _, rt = tiny
    a = rt(*pair, steps=3, seed=1)
    assert np.array_equal(a, rt(*pair, steps=3, seed=1))
    assert not np.array_equal(a, rt(*pair, steps=3, seed=2))


def test_repaint_keeps_the_person_outside_the_mask(tiny, pair):
    _, rt = tiny
    person, garment, mask = pair
    out = rt(person, garment, mask, steps=2, seed=0, repaint=True)
    from vtonpipe.models.catvton.preprocess import resize_and_crop

    person_small = resize_and_crop(person, (W, H))
    mask_small = resize_and_crop(mask, (W, H))
    far = np.ones_like(mask_small, bool)
    far[max(0, 20 * H // 90 - 8) : 75 * H // 90 + 8, :] = False  # rows well away from the blurred mask
    assert far.any() and np.abs(out[far].astype(int) - person_small[far]).max() <= 1
