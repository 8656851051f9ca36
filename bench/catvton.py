"""One CatVTON denoising step at full SD-1.5 size with random weights (no download):
torch eager vs OpenVINO fp32 vs OpenVINO INT8 (NNCF PTQ), in one run.

    python bench/catvton.py                      # 512x384 with CFG: UNet input [2,9,128,48]
    python bench/catvton.py --height 1024 --width 768 --repeats 1
    python bench/catvton.py --preset tiny        # seconds: checks the script itself

Prints the median time of each, the speed ratios, achieved GFLOP/s against a measured sgemm
peak, and the peak RSS after each phase. Heavy at full size: about 10 GB of RAM and minutes.
Cost does not depend on weight values, so random weights time the real model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import openvino as ov
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.random_catvton import SD15_INPAINT_UNET  # noqa: E402
from bench.timing import (  # noqa: E402
    forward_flops,
    median_seconds,
    ov_fp32_config,
    peak_rss_gib,
    print_backend_table,
    relative_l2,
    sgemm_peak_gflops,
)
from vtonpipe.models.catvton.definition import UNetStep, build_unet  # noqa: E402
from vtonpipe.models.common.quantize import quantize_ptq  # noqa: E402
from vtonpipe.models.catvton.tiny import TINY_UNET  # noqa: E402
from vtonpipe.models.common.convert import to_openvino  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=["sd15", "tiny"], default="sd15")
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up (median)")
    parser.add_argument("--threads", type=int, default=None, help="OpenVINO and torch threads (default: all cores)")
    parser.add_argument("--calib-samples", type=int, default=4, help="random UNet inputs for INT8 calibration")
    parser.add_argument("--no-int8", action="store_true")
    args = parser.parse_args()
    if args.preset == "tiny":
        args.height, args.width = 64, 48
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    unet = build_unet({**(SD15_INPAINT_UNET if args.preset == "sd15" else TINY_UNET), "in_channels": 9})
    step = UNetStep(unet).eval()
    shape = (2, 9, 2 * args.height // 8, args.width // 8)
    sample, timestep = torch.randn(shape), torch.tensor([500.0])
    print(f"CatVTON UNet step, {args.preset} at {args.height}x{args.width} with CFG: input {list(shape)}")
    print(f"torch {torch.__version__}, OpenVINO {ov.__version__}, threads {args.threads or torch.get_num_threads()}")

    peak = sgemm_peak_gflops()
    flops = forward_flops(step, (sample, timestep))
    print(f"sgemm 4096 peak: {peak:.1f} GFLOP/s; one step: {flops / 1e12:.3f} TFLOP")

    rows = []
    with torch.no_grad():
        t_torch = median_seconds(lambda: step(sample, timestep), args.repeats)
    rows.append(("torch fp32 eager", t_torch, peak_rss_gib()))

    config = ov_fp32_config(args.threads)
    start = time.perf_counter()
    model = to_openvino(step, (sample, timestep), ["sample", "timestep"], ["noise"])
    convert_s = time.perf_counter() - start
    core = ov.Core()
    inputs = {"sample": sample.numpy(), "timestep": timestep.numpy()}
    compiled = core.compile_model(model, "CPU", config)
    with torch.no_grad():
        expected = step(sample, timestep).numpy()
    got = compiled(inputs)[0]
    rel = relative_l2(got, expected)
    rows.append(("OpenVINO fp32", median_seconds(lambda: compiled(inputs), args.repeats), peak_rss_gib()))
    print(f"conversion {convert_s:.1f} s; OpenVINO fp32 vs torch relative L2 {rel:.2e}")

    if not args.no_int8:
        del unet, step
        rng = np.random.default_rng(0)
        samples = [{"sample": rng.standard_normal(shape).astype(np.float32), "timestep": np.array([t], np.float32)}
                   for t in np.linspace(981, 1, args.calib_samples)]
        start = time.perf_counter()
        quantized = quantize_ptq(model, samples)
        quant_s = time.perf_counter() - start
        del compiled
        compiled_int8 = core.compile_model(quantized, "CPU", config)
        rel8 = relative_l2(compiled_int8(inputs)[0], expected)
        rows.append(("OpenVINO INT8 PTQ", median_seconds(lambda: compiled_int8(inputs), args.repeats), peak_rss_gib()))
        print(f"NNCF PTQ on {len(samples)} random samples {quant_s:.1f} s; INT8 vs torch relative L2 {rel8:.2e} "
              "(random weights: says nothing about real quality)")

    # The machine is shared: take the better of the peaks measured before and after the steps.
    peak_after = sgemm_peak_gflops()
    print(f"sgemm 4096 peak after the steps: {peak_after:.1f} GFLOP/s")
    peak = max(peak, peak_after)

    print_backend_table(rows, flops, peak)
    if len(rows) == 3:
        print(f"\nINT8 / fp32 OpenVINO speed-up: {rows[1][1] / rows[2][1]:.2f}x")


if __name__ == "__main__":
    main()
