"""StableVITON on the tiny preset: each IR against the torch definition, the OpenVINO runtime
against the official inference (rlawjdghek/StableVITON 50a741c, run on CPU in its deterministic
mode), batch independence, seeds, progress, and no torch on the runtime path."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from vtonpipe.errors import ConfigError
from vtonpipe.models.stableviton.checkpoint import load_checkpoint
from vtonpipe.models.stableviton.definition import DenoiserIR, GarmentEncoderIR, VAEDecoderIR, VAEEncoderIR
from vtonpipe.models.stableviton.runtime import StableVITONRuntime
from vtonpipe.models.stableviton.tiny import CHECKPOINT_NAME, TINY_CONFIG, build_tiny_ir

H, W, BATCH = 128, 64, 3


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny graphs are too small to gain from more; spares a shared machine
    try:
        ir = build_tiny_ir(tmp_path_factory.mktemp("stableviton-ir"), seed=0, height=H, width=W, batch=BATCH)
        yield ir, load_checkpoint(ir / "tiny-weights" / CHECKPOINT_NAME), StableVITONRuntime(ir, threads=1)
    finally:
        torch.set_num_threads(threads)


def smooth_image(rng, h, w):
    return np.asarray(Image.fromarray(rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC))


def make_pair(rng, h=160, w=120):
    """person, agnostic, agnostic_mask, densepose, garment at a native size other than the model's."""
    mask = np.zeros((h, w), np.uint8)
    top, left = rng.integers(20, 50), rng.integers(10, 30)
    mask[top: top + 90, left: left + 70] = 255
    person, agnostic, densepose, garment = (smooth_image(rng, h, w) for _ in range(4))
    return person, agnostic, mask, densepose, garment


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(5)
    return [make_pair(rng) for _ in range(4)]


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_irs_match_torch(tiny):
    _, loaded, rt = tiny
    model = loaded.model
    rng = np.random.default_rng(0)
    cloth = rng.uniform(-1, 1, (BATCH, 3, H, W)).astype(np.float32)
    images = rng.uniform(-1, 1, (4 * BATCH, 3, H, W)).astype(np.float32)
    latent = rng.standard_normal((BATCH, 4, H // 8, W // 8)).astype(np.float32)
    with torch.no_grad():
        expected = {
            "garment_encoder": [t.numpy() for t in GarmentEncoderIR(model)(torch.from_numpy(cloth))],
            "vae_encoder": [t.numpy() for t in VAEEncoderIR(model)(torch.from_numpy(images))],
            "vae_decoder": [VAEDecoderIR(model)(torch.from_numpy(latent)).numpy()],
        }
    got = {"garment_encoder": rt.garment_encoder(cloth), "vae_encoder": rt.vae_encoder(images),
           "vae_decoder": rt.vae_decoder(latent)}
    for name, outputs in expected.items():
        for i, out in enumerate(outputs):
            assert rel_l2(got[name][i], out) < 1e-4, (name, i)
    inputs = {"x": latent, "cond": rng.standard_normal((BATCH, 9, H // 8, W // 8)).astype(np.float32),
              "cloth_latent": rng.standard_normal((BATCH, 4, H // 8, W // 8)).astype(np.float32),
              "context": expected["garment_encoder"][0]}
    for t in (981.0, 1.0):
        inputs["t"] = np.full(BATCH, t, np.float32)
        with torch.no_grad():
            eps = DenoiserIR(model)(*(torch.from_numpy(inputs[k]) for k in ("x", "cond", "cloth_latent", "context", "t")))
        assert rel_l2(rt.denoiser(inputs)[0], eps.numpy()) < 1e-4


def test_model_json_carries_the_checkpoint_schedule(tiny):
    _, loaded, rt = tiny
    assert (rt.height, rt.width, rt.batch, rt.latent_shape) == (H, W, BATCH, (1, 4, H // 8, W // 8))
    assert rt.model_id.startswith("stableviton/tiny@fp32-")
    assert np.array_equal(rt.alphas_cumprod, loaded.model.alphas_cumprod.numpy())
    assert rt.start_coefficients == (loaded.model.sqrt_alphas_cumprod[999].item(),
                                     loaded.model.sqrt_one_minus_alphas_cumprod[999].item())


def test_a_pair_does_not_depend_on_its_batch(tiny, pairs):
    _, _, rt = tiny
    seeds = [11, 12, 13, 14]
    together = rt.generate(*zip(*pairs), seeds=seeds, steps=2)  # 4 pairs: a full chunk of 3, then 1 padded
    assert len(together) == 4 and not np.array_equal(together[0], together[1])
    for i in (1, 3):
        alone = rt(*pairs[i], steps=2, seed=seeds[i])
        assert np.array_equal(alone, together[i])


def test_seed_and_noise_control_the_result(tiny, pairs):
    _, _, rt = tiny
    first = rt(*pairs[0], steps=1, seed=1)
    assert first.shape == (H, W, 3) and first.dtype == np.uint8
    assert np.array_equal(first, rt(*pairs[0], steps=1, seed=1))
    assert not np.array_equal(first, rt(*pairs[0], steps=1, seed=2))
    noise = np.random.default_rng(3).standard_normal(rt.latent_shape).astype(np.float32)
    a = rt(*pairs[0], steps=1, seed=1, noise=noise, vae_sample=False)
    assert np.array_equal(a, rt(*pairs[0], steps=1, seed=2, noise=noise, vae_sample=False))


def test_progress_and_step_counts(tiny, pairs):
    _, _, rt = tiny
    seen = []
    rt(*pairs[0], steps=6, seed=0, on_step=lambda i, n: seen.append((i, n)))
    assert seen == [(i, 7) for i in range(1, 8)] and rt.step_count(6) == 7
    with pytest.raises(ConfigError, match="use 2 or 4 steps"):
        rt(*pairs[0], steps=3, seed=0)


def write_vitonhd(root, pairs):
    """The test split of a VITON-HD folder holding `pairs` (unpaired: person i wears garment i)."""
    for folder in ("image", "agnostic-v3.2", "image-densepose", "cloth", "cloth-mask", "agnostic-mask"):
        (root / "test" / folder).mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (person, agnostic, mask, densepose, garment) in enumerate(pairs):
        for folder, name, image in (("image", f"p{i}.jpg", person), ("agnostic-v3.2", f"p{i}.jpg", agnostic),
                                    ("image-densepose", f"p{i}.jpg", densepose), ("cloth", f"g{i}.jpg", garment),
                                    ("cloth-mask", f"g{i}.jpg", np.full_like(garment, 255))):
            cv2.imwrite(str(root / "test" / folder / name), image[:, :, ::-1])
        cv2.imwrite(str(root / "test" / "agnostic-mask" / f"p{i}_mask.png"), mask)
        lines.append(f"p{i}.jpg g{i}.jpg\n")
    (root / "test_pairs.txt").write_text("".join(lines))


def read_back(root, n):
    """The pairs as the files hold them (JPEG-decoded), in the runtime's argument order."""
    rgb = lambda folder, name: cv2.imread(str(root / "test" / folder / name))[:, :, ::-1].copy()  # noqa: E731
    return [(rgb("image", f"p{i}.jpg"), rgb("agnostic-v3.2", f"p{i}.jpg"),
             cv2.imread(str(root / "test" / "agnostic-mask" / f"p{i}_mask.png"), cv2.IMREAD_GRAYSCALE),
             rgb("image-densepose", f"p{i}.jpg"), rgb("cloth", f"g{i}.jpg")) for i in range(n)]


@pytest.mark.parametrize("steps,guidance_scale,repaint", [(4, 1.0, False), (6, 2.0, True)])
def test_matches_the_official_inference(tmp_path, monkeypatch, tiny, pairs, steps, guidance_scale, repaint):
    from stableviton_official import official_code, run_official, tiny_yaml

    ir, _, rt = tiny
    data = tmp_path / "zalando-hd-resized"
    write_vitonhd(data, pairs[:BATCH])
    noise = np.random.default_rng(9).standard_normal((BATCH, *rt.latent_shape[1:])).astype(np.float32)
    with official_code(tmp_path, TINY_CONFIG) as (root, commit, inference):
        official = run_official(inference, monkeypatch, config_path=tiny_yaml(root, TINY_CONFIG),
                                ckpt=ir / "tiny-weights" / CHECKPOINT_NAME, data_root=data, save_dir=tmp_path / "out",
                                height=H, width=W, steps=steps, noise=torch.from_numpy(noise),
                                repaint=repaint, guidance_scale=guidance_scale)
    ours = rt.generate(*zip(*read_back(data, BATCH)), seeds=[0] * BATCH, noises=list(noise[:, None]), steps=steps,
                       guidance_scale=guidance_scale, vae_sample=False, repaint=repaint)
    assert len(official) == BATCH
    for got, expected in zip(ours, official):
        diff = np.abs(got.astype(int) - expected.astype(int))
        assert diff.max() <= 2, f"upstream {commit}: max |diff| {diff.max()}, mean {diff.mean():.4f}"


def test_runtime_runs_without_torch(tiny, pairs):
    ir, _, _ = tiny
    np.savez(ir.parent / "pair.npz", *pairs[0])
    code = (
        "import sys, numpy as np\n"
        "from vtonpipe.models.stableviton.runtime import StableVITONRuntime\n"
        f"pair = list(np.load({str(ir.parent / 'pair.npz')!r}).values())\n"
        f"out = StableVITONRuntime({str(ir)!r}, threads=1)(*pair, steps=1, seed=0)\n"
        "assert out.shape == (128, 64, 3)\n"
        "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules), 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_int8_denoiser_is_quantized_on_captured_inputs(tiny, tmp_path):
    """`--int8`: the denoiser alone is quantized, calibrated on the inputs the fp32 IR saw while
    rendering the calibration pairs; the runtime renders with it."""
    import json

    import openvino as ov

    from vtonpipe.datasets.calibration import demo_pairs
    from vtonpipe.models.stableviton.export import export_ir

    _, loaded, _ = tiny
    out = export_ir(loaded, tmp_path / "int8", height=H, width=W, int8=True, calibration=demo_pairs,
                    calibration_size=1, calibration_steps=1)
    info = json.loads((out / "model.json").read_text())
    assert info["precision"] == "int8" and info["int8"]["quantized"] == ["denoiser"]
    assert info["int8"]["calibration_samples"] == 2  # 1 step = 2 denoiser calls
    ops = {name: {op.get_type_name() for op in ov.Core().read_model(out / f"{name}.xml").get_ops()}
           for name in ("denoiser", "vae_decoder")}
    assert "FakeQuantize" in ops["denoiser"] and "FakeQuantize" not in ops["vae_decoder"]
    person, agnostic, mask, densepose, garment = make_pair(np.random.default_rng(1))
    image = StableVITONRuntime(out, threads=1)(person, agnostic, mask, densepose, garment, steps=2, seed=0)
    assert image.shape == (H, W, 3) and image.dtype == np.uint8
