"""The ops DM-VTON and PF-AFN share: the correlation against the CUDA kernel's arithmetic, OpenVINO's
GridSample against torch, and the runtime's input and output conversions."""

import numpy as np
import openvino as ov
import pytest
import torch
import torch.nn.functional as F

from vtonpipe.models.common.appearance_flow import correlation
from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.parser_free import batched_inputs, mask_input, rgb_input, to_uint8


def kernel_correlation(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A literal loop over the cupy kernels' index arithmetic at stride 1: "rearrange" copies each
    map into a zeroed NHWC buffer with a 3-pixel border; "updateOutput" runs one block per output
    pixel whose 32 threads accumulate channels ch, ch + 32, ... and whose thread 0 adds the 32
    partial sums and divides by the channel count, for top_channel 0..48 with
    s2o = top_channel % 7 - 3 (x) and s2p = top_channel // 7 - 3 (y)."""
    b, c, h, w = first.shape
    rbot0 = np.zeros((b, h + 6, w + 6, c), np.float32)
    rbot1 = np.zeros((b, h + 6, w + 6, c), np.float32)
    for sample in range(b):
        for channel in range(c):
            for index in range(h * w):
                y, x = index // w + 3, index % w + 3
                rbot0[sample, y, x, channel] = first[sample, channel].reshape(-1)[index]
                rbot1[sample, y, x, channel] = second[sample, channel].reshape(-1)[index]
    top = np.zeros((b, 49, h, w), np.float32)
    for item in range(b):
        for block_y in range(h):
            for block_x in range(w):
                x1, y1 = block_x + 3, block_y + 3
                patch = rbot0[item, y1, x1]
                for top_channel in range(49):
                    x2 = x1 + (top_channel % 7 - 3)
                    y2 = y1 + (top_channel // 7 - 3)
                    partial = np.zeros(32, np.float32)
                    for ch in range(c):
                        partial[ch % 32] += patch[ch] * rbot1[item, y2, x2, ch]
                    total = np.float32(0)
                    for value in partial:
                        total += value
                    top[item, top_channel, block_y, block_x] = total / np.float32(c)
    return top


def test_correlation_matches_the_cuda_kernel_loop():
    rng = np.random.default_rng(0)
    # 40 channels: more than the kernel's 32 threads; 5x6 with a 7x7 window reaches every border.
    first, second = (rng.standard_normal((2, 40, 5, 6)).astype(np.float32) for _ in range(2))
    expected = kernel_correlation(first, second)
    got = correlation(torch.from_numpy(first), torch.from_numpy(second)).numpy()
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(got, expected, atol=3e-7, rtol=0)
    # Channel order: k = 24 is no displacement, k = 25 is dx = +1, k = 31 is dy = +1.
    np.testing.assert_allclose(got[:, 24], (first * second).mean(1), atol=3e-7)
    np.testing.assert_allclose(got[:, 25, :, :-1], (first[..., :-1] * second[..., 1:]).mean(1), atol=3e-7)
    np.testing.assert_allclose(got[:, 31, :-1], (first[:, :, :-1] * second[:, :, 1:]).mean(1), atol=3e-7)


def test_correlation_divisor_keeps_the_scale_of_a_wider_map():
    rng = np.random.default_rng(1)
    first, second = (torch.from_numpy(rng.standard_normal((1, 8, 4, 4)).astype(np.float32)) for _ in range(2))
    np.testing.assert_allclose(correlation(first, second, divisor=32).numpy(),
                               correlation(first, second).numpy() * 8 / 32, rtol=1e-6, atol=1e-7)


def test_correlation_in_openvino_matches_torch():
    class Corr(torch.nn.Module):
        def forward(self, a, b):
            return correlation(a, b)

    rng = np.random.default_rng(2)
    a, b = (torch.from_numpy(rng.standard_normal((2, 16, 12, 10)).astype(np.float32)) for _ in range(2))
    compiled = ov.Core().compile_model(to_openvino(Corr(), (a, b), ["a", "b"], ["cost"]), "CPU")
    np.testing.assert_allclose(compiled({"a": a.numpy(), "b": b.numpy()})[0], correlation(a, b).numpy(), atol=1e-6)


@pytest.mark.parametrize("padding", ["border", "zeros"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_openvino_grid_sample_matches_torch(padding, align_corners):
    class Sample(torch.nn.Module):
        def forward(self, source, grid):
            return F.grid_sample(source, grid, mode="bilinear", padding_mode=padding, align_corners=align_corners)

    rng = np.random.default_rng(3)
    source = torch.from_numpy(rng.standard_normal((2, 3, 9, 7)).astype(np.float32))
    # Coordinates beyond [-1, 1] exercise the padding.
    grid = torch.from_numpy(rng.uniform(-1.3, 1.3, (2, 8, 6, 2)).astype(np.float32))
    compiled = ov.Core().compile_model(to_openvino(Sample(), (source, grid), ["source", "grid"], ["out"]), "CPU")
    expected = Sample()(source, grid).numpy()
    np.testing.assert_allclose(compiled({"source": source.numpy(), "grid": grid.numpy()})[0], expected, atol=2e-6)


def test_output_rounding_rules():
    x = np.array([-1.2, -1.0, -0.5, 0.0, 0.999, 1.0], np.float32)
    tryon = np.broadcast_to(x, (3, 1, x.size))
    # DM-VTON: clamp, (x + 1) * 127.5, + 0.5, truncate.
    assert to_uint8(tryon, "half_up")[0, :, 0].tolist() == [0, 0, 64, 128, 255, 255]
    # PF-AFN: (x + 1) / 2 * 255 truncated.
    assert to_uint8(tryon[:, :, 1:], "truncate")[0, :, 0].tolist() == [0, 63, 127, 254, 255]


def test_inputs_follow_the_official_loaders():
    rgb = np.array([[[0, 128, 255]]], np.uint8)
    np.testing.assert_allclose(rgb_input(rgb, 1, 1, "person")[:, 0, 0], [-1.0, 128 / 127.5 - 1, 1.0], atol=1e-6)
    mask = np.array([[0, 127, 128, 255]], np.uint8)
    np.testing.assert_allclose(mask_input(mask, 1, 4)[0, 0], mask[0] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(mask_input(mask > 127, 1, 4)[0, 0], [0, 0, 1, 1])
    assert mask_input(np.zeros((10, 8), np.uint8), 4, 2).shape == (1, 4, 2)
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        rgb_input(np.zeros((4, 4), np.uint8), 4, 4, "person")


def test_batches_pad_the_last_call_with_its_last_pair():
    pairs = [tuple(np.full((1,), i, np.float32) for _ in range(3)) for i in range(5)]
    calls = batched_inputs(pairs, 2, ("a", "b", "c"))
    assert [c["a"][:, 0].tolist() for c in calls] == [[0, 1], [2, 3], [4, 4]]
