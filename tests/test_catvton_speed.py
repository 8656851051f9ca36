"""CatVTON speed options on the tiny preset: guidance off, samplers, deep-feature caching, latent caching."""

import numpy as np
import pytest
import torch
from PIL import Image

from vtonpipe.models.catvton.checkpoint import load_checkpoint
from vtonpipe.models.catvton.definition import UNetDeepStep, UNetShallowStep, UNetStep
from vtonpipe.models.catvton.latent_cache import LatentCache, sharing_order
from vtonpipe.models.catvton.reference import reference_tryon
from vtonpipe.models.catvton.runtime import CatVTONRuntime

H, W = 64, 48


@pytest.fixture(scope="module")
def tiny(tiny_ir):
    root = ir = tiny_ir("catvton", height=H, width=W)
    return load_checkpoint(root / "tiny-weights", "mix"), CatVTONRuntime(ir)


@pytest.fixture
def rt(tiny):
    runtime = tiny[1]
    runtime.calls.clear()
    runtime.latent_cache.clear()
    return runtime


def smooth_image(rng, h, w):
    return np.asarray(Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC))


def catalog(n_persons, n_garments, seed=7):
    """Every person with every garment: (persons, garments, masks, person ids, garment ids)."""
    rng = np.random.default_rng(seed)
    people = [smooth_image(rng, 90, 70) for _ in range(n_persons)]
    clothes = [smooth_image(rng, 80, 80) for _ in range(n_garments)]
    mask = np.zeros((90, 70), np.uint8)
    mask[20:75, 10:60] = 255
    pairs = [(p, g) for g in range(n_garments) for p in range(n_persons)]
    return ([people[p] for p, _ in pairs], [clothes[g] for _, g in pairs], [mask] * len(pairs),
            [f"p{p}" for p, _ in pairs], [f"g{g}" for _, g in pairs])


def as_guided_half(rt):
    """Run every batch-1 UNet call as the guided batch-2 call and keep its conditional half."""
    run = rt._run

    def guided(name, batch, inputs):
        if name != "unet" or batch != rt.batch:
            return run(name, batch, inputs)
        uncond = inputs["sample"].copy()
        uncond[:, 5:, H // 8 :] = 0  # the context channels' garment half
        out = run(name, 2 * batch, {**inputs, "sample": np.concatenate([uncond, inputs["sample"]])})
        return [o[batch:] for o in out]

    return guided


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_guidance_off_runs_half_the_batch_with_the_same_images(rt, eta, monkeypatch):
    persons, garments, masks, _, _ = catalog(1, 1)
    kwargs = dict(steps=5, guidance_scale=1.0, eta=eta, seed=3)
    image = rt(persons[0], garments[0], masks[0], **kwargs)
    assert rt.calls[("unet", 1)] == 5 and rt.calls[("unet", 2)] == 0
    monkeypatch.setattr(rt, "_run", as_guided_half(rt))
    assert np.array_equal(image, rt(persons[0], garments[0], masks[0], **kwargs))
    assert rt.calls[("unet", 2)] == 5


@pytest.mark.parametrize("sampler", ["dpmpp-2m", "dpmpp-2m-sde"])
def test_samplers_match_the_torch_reference(tiny, sampler):
    weights, rt = tiny
    persons, garments, masks, _, _ = catalog(1, 1)
    kwargs = dict(steps=6, guidance_scale=2.5, seed=11, sampler=sampler)
    ours = rt(persons[0], garments[0], masks[0], **kwargs)
    ref = reference_tryon(weights, persons[0], garments[0], masks[0], height=H, width=W, **kwargs)
    assert np.abs(ours.astype(int) - ref).max() <= 2


def test_split_unet_is_the_unet(tiny):
    weights, rt = tiny
    sample = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 9, 2 * H // 8, W // 8)).astype(np.float32))
    t = torch.tensor([501.0])
    with torch.no_grad():
        noise, feature = UNetDeepStep(weights.unet, 1)(sample, t)
        assert torch.equal(noise, UNetStep(weights.unet)(sample, t))
        assert torch.equal(UNetShallowStep(weights.unet, 1)(sample, t, feature), noise)
    # The IRs: the shallow call on the full call's feature gives the full call's noise.
    inputs = {"sample": sample.numpy(), "timestep": t.numpy()}
    result = rt.unet(inputs)
    full_noise, full_feature = result[0], result[1]
    shallow = rt.compiled("unet_shallow", 2)({**inputs, "feature": full_feature})[0]
    assert np.abs(shallow - full_noise).max() <= 1e-5 * np.abs(full_noise).max()


@pytest.mark.parametrize("guidance_scale,batch", [(2.5, 2), (1.0, 1)])
def test_deep_cache_calls_the_shallow_unet_between_full_steps(rt, guidance_scale, batch):
    persons, garments, masks, _, _ = catalog(1, 1)
    kwargs = dict(steps=7, guidance_scale=guidance_scale, seed=2, sampler="dpmpp-2m")
    default = rt(persons[0], garments[0], masks[0], **kwargs)
    assert np.array_equal(default, rt(persons[0], garments[0], masks[0], cache_interval=1, **kwargs))
    rt.calls.clear()
    cached = rt(persons[0], garments[0], masks[0], cache_interval=3, **kwargs)
    assert rt.calls == {("vae_encoder", 2): 1, ("unet", batch): 3, ("unet_shallow", batch): 4, ("vae_decoder", 1): 1}
    assert cached.shape == default.shape and not np.array_equal(cached, default)


def test_progress_is_reported_once_per_step(rt):
    persons, garments, masks, _, _ = catalog(1, 1)
    seen = []
    rt(persons[0], garments[0], masks[0], steps=4, seed=0, on_step=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_shared_garments_are_encoded_once_whatever_the_order(rt):
    persons, garments, masks, person_ids, garment_ids = catalog(2, 2)
    seeds = [10, 11, 12, 13]
    kwargs = dict(steps=2, guidance_scale=2.5)
    keyed = rt.generate(persons, garments, masks, seeds=seeds, person_keys=person_ids, garment_keys=garment_ids, **kwargs)
    # 4 pairs, 2 persons, 2 garments: 4 encodings instead of 8, the other 4 lookups hit.
    assert rt.calls[("vae_encoder", 1)] == 4 and rt.latent_cache.hits == 4
    # Another order, one pair at a time, with an empty cache: the same images.
    rt.latent_cache.clear()
    for i in (3, 1, 2, 0):
        again = rt(persons[i], garments[i], masks[i], seed=seeds[i], person_key=person_ids[i],
                   garment_key=garment_ids[i], **kwargs)
        assert np.array_equal(again, keyed[i])


def test_keyed_latents_are_the_posterior_mean(rt):
    persons, garments, masks, person_ids, garment_ids = catalog(2, 1)
    kwargs = dict(steps=2, seeds=[4, 5], vae_sample=False)
    plain = rt.generate(persons, garments, masks, **kwargs)
    keyed = rt.generate(persons, garments, masks, person_keys=person_ids, garment_keys=garment_ids, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(plain, keyed))
    # With posterior sampling only the unkeyed latents are sampled: a pair keyed on its garment
    # alone still draws its person's noise and all later noise as without keys.
    rt.latent_cache.clear()
    half = rt.generate(persons, garments, masks, seeds=[4, 5], steps=2, garment_keys=garment_ids)
    full = rt.generate(persons, garments, masks, seeds=[4, 5], steps=2)
    assert rt.latent_cache.hits == 1 and not np.array_equal(half[0], full[0])


def test_sharing_order_groups_pairs_and_snakes_through_the_other_key():
    _, _, _, person_ids, garment_ids = catalog(3, 2)
    shuffled = [5, 0, 3, 1, 4, 2]
    persons, garments = [person_ids[i] for i in shuffled], [garment_ids[i] for i in shuffled]
    order = sharing_order(persons, garments)
    assert sorted(order) == list(range(6))
    assert [(garments[i], persons[i]) for i in order] == [
        ("g1", "p2"), ("g1", "p0"), ("g1", "p1"), ("g0", "p1"), ("g0", "p0"), ("g0", "p2")]


def test_latent_cache_is_bounded_lru():
    cache = LatentCache(max_bytes=3 * 16)
    for k in "abc":
        cache.put(k, np.zeros(4, np.float32))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", np.zeros(4, np.float32))
    assert cache.get("b") is None and cache.get("c") is not None and len(cache) == 3 and cache.nbytes == 48


def test_options_are_checked_before_any_work(rt):
    with pytest.raises(ValueError, match="dpmpp-2m"):
        rt.prepare(sampler="euler")
    with pytest.raises(ValueError, match="cache_interval"):
        rt.prepare(cache_interval=0)
    rt.prepare(guidance_scale=1.0, cache_interval=2)
    assert ("unet", 1) in rt._compiled and ("unet_shallow", 1) in rt._compiled and not rt.calls
