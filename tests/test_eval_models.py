"""Inception and LPIPS families: tiny official-layout files -> IR -> OpenVINO, vs. the torch modules."""

import numpy as np
import pytest
import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.inception.checkpoint import load_checkpoint
from vtonpipe.models.inception.definition import CleanInceptionFeatures
from vtonpipe.models.inception.runtime import InceptionRuntime, clean_resize
from vtonpipe.models.inception.tiny import build_tiny_ir as tiny_inception
from vtonpipe.models.lpips.checkpoint import load_checkpoint as load_lpips_checkpoint
from vtonpipe.models.lpips.runtime import LpipsRuntime, to_signed_unit
from vtonpipe.models.lpips.tiny import build_tiny_ir as tiny_lpips


@pytest.fixture(scope="module")
def irs(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval-models")
    return {"inception": tiny_inception(root / "inception", batch=2), "lpips": tiny_lpips(root / "lpips"), "root": root}


def _images(n, shape=(64, 48, 3), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


def test_clean_resize_is_per_channel_float_pil_bicubic():
    img = _images(1, (40, 30, 3))[0]
    out = clean_resize(img)
    assert out.shape == (299, 299, 3) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 255
    # Not re-quantised: float output keeps fractional values.
    assert np.any(out != np.round(out))


def test_inception_openvino_matches_torchscript(irs):
    runtime = InceptionRuntime(irs["inception"])
    images = _images(3)  # odd count: exercises the padded last batch of a batch-2 IR
    feats = runtime.features(images)
    network = CleanInceptionFeatures(load_checkpoint(irs["root"] / "inception" / "tiny-weights")).eval()
    batch = torch.from_numpy(np.stack([clean_resize(i) for i in images]).transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        expected = network(batch).numpy()
    assert feats.shape == expected.shape == (3, runtime.feature_dim)
    np.testing.assert_allclose(feats, expected, rtol=1e-4, atol=1e-4)
    # The archive's own interface (resize inside + return_features) is kept by the tiny preset.
    archive = load_checkpoint(irs["root"] / "inception" / "tiny-weights")
    with torch.no_grad():
        assert archive(batch, return_features=True).shape == (3, runtime.feature_dim)


def test_inception_rejects_missing_or_wrong_files(tmp_path):
    with pytest.raises(ModelFilesError, match="inception-2015-12-05.pt"):
        load_checkpoint(tmp_path)
    bogus = tmp_path / "inception-2015-12-05.pt"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ModelFilesError, match="TorchScript"):
        load_checkpoint(bogus)


def test_lpips_openvino_matches_torch_and_reshapes(irs):
    runtime = LpipsRuntime(irs["lpips"])
    weights = irs["root"] / "lpips" / "tiny-weights"
    model = load_lpips_checkpoint(weights, weights)
    a, b = _images(2, (64, 48, 3), seed=1)
    with torch.no_grad():
        expected = float(model(torch.from_numpy(to_signed_unit(a)), torch.from_numpy(to_signed_unit(b))))
    assert runtime.distance(a, b) == pytest.approx(expected, rel=1e-4)
    assert runtime.distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # Another size than the IR's: reshaped, still equal to torch.
    c, d = _images(2, (80, 40, 3), seed=2)
    with torch.no_grad():
        expected = float(model(torch.from_numpy(to_signed_unit(c)), torch.from_numpy(to_signed_unit(d))))
    assert runtime.distance(c, d) == pytest.approx(expected, rel=1e-4)


def test_lpips_checkpoint_names_missing_and_unexpected_keys(irs, tmp_path):
    weights = irs["root"] / "lpips" / "tiny-weights"
    heads = torch.load(weights / "squeeze.pth", weights_only=True)
    heads.pop("lin6.model.1.weight")
    heads["lin7.model.1.weight"] = torch.zeros(1, 8, 1, 1)
    torch.save(heads, tmp_path / "squeeze.pth")
    with pytest.raises(ModelFilesError) as err:
        load_lpips_checkpoint(weights, tmp_path / "squeeze.pth")
    assert "lin6.model.1.weight" in str(err.value) and "lin7.model.1.weight" in str(err.value)
