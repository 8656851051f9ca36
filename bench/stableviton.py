"""StableVITON at full size with random weights (no download): one denoiser evaluation (spatial
encoder + UNet + warp blocks) in torch eager vs OpenVINO fp32 vs OpenVINO INT8 (NNCF PTQ), then
the per-pair cost split of a whole StableVITONRuntime call, in one run.

    python bench/stableviton.py                  # 512x384, 50 PLMS steps (51 denoiser calls)
    python bench/stableviton.py --steps 20 --no-int8
    python bench/stableviton.py --quick          # tiny preset at 128x64: checks the script itself

The IRs are written by the project's export code (vtonpipe.models.stableviton.export.export_ir,
fp32). Prints the median time of each backend, FLOPs of one denoiser evaluation
(torch.utils.flop_counter), GFLOP/s against the better of two sgemm peaks (before and after),
peak RSS after each phase (cumulative), relative L2 against torch, and the runtime call split into
garment CLIP encoding, VAE encoding (person, agnostic, DensePose, cloth), the denoiser calls and
the decode. Heavy at full size: about 16 GB of RAM and, on 2 cores, tens of minutes.
Cost does not depend on weight values.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import openvino as ov
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import (  # noqa: E402
    StepTimer,
    forward_flops,
    median_seconds,
    ov_fp32_config,
    peak_rss_gib,
    person_image,
    print_backend_table,
    relative_l2,
    sgemm_peak_gflops,
)
from vtonpipe.models.common.quantize import quantize_ptq  # noqa: E402
from vtonpipe.models.stableviton import DENOISER, PORTS  # noqa: E402
from vtonpipe.models.stableviton.checkpoint import LoadedStableVITON  # noqa: E402
from vtonpipe.models.stableviton.config import StableVITONConfig  # noqa: E402
from vtonpipe.models.stableviton.definition import DenoiserIR, StableVITON, official_schedule  # noqa: E402
from vtonpipe.models.stableviton.export import export_ir, ir_shapes  # noqa: E402
from vtonpipe.models.stableviton.runtime import StableVITONRuntime  # noqa: E402
from vtonpipe.models.stableviton.tiny import TINY_CONFIG  # noqa: E402

PARTS = ("garment_encoder", "vae_encoder", "denoiser", "vae_decoder")


def random_model(cfg: StableVITONConfig) -> LoadedStableVITON:
    torch.manual_seed(0)
    model = StableVITON(cfg)
    schedule = official_schedule(cfg)
    for name, buffer in model.named_buffers(recurse=False):
        buffer.copy_(schedule[name])
    return LoadedStableVITON(model=model.drop_unused().eval(), config=cfg)


def denoiser_inputs(cfg: StableVITONConfig, height: int, width: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = ir_shapes(cfg, height, width, 1)[DENOISER]
    inputs = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    inputs["t"] = np.array([500.0], np.float32)
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny preset at 128x64 (checks the script)")
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--steps", type=int, default=50, help="PLMS steps of the timed runtime call")
    parser.add_argument("--repeats", type=int, default=3, help="timed denoiser runs after one warm-up (median)")
    parser.add_argument("--threads", type=int, default=None, help="OpenVINO and torch threads (default: all cores)")
    parser.add_argument("--calib-samples", type=int, default=4, help="random denoiser inputs for INT8 calibration")
    parser.add_argument("--no-int8", action="store_true")
    args = parser.parse_args()
    cfg = TINY_CONFIG if args.quick else StableVITONConfig()
    if args.quick:
        args.height, args.width, args.steps = 128, 64, 4
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"StableVITON denoiser, {'tiny' if args.quick else 'full'} at {args.height}x{args.width}, random weights")
    print(f"torch {torch.__version__}, OpenVINO {ov.__version__}, threads {args.threads or torch.get_num_threads()}")

    peak = sgemm_peak_gflops()
    start = time.perf_counter()
    loaded = random_model(cfg)
    print(f"model built in {time.perf_counter() - start:.1f} s; RSS {peak_rss_gib():.2f} GiB")
    inputs = denoiser_inputs(cfg, args.height, args.width)
    example = tuple(torch.from_numpy(inputs[name]) for name in PORTS[DENOISER][0])
    denoiser = DenoiserIR(loaded.model).eval()
    flops = forward_flops(denoiser, example)
    print(f"sgemm 4096 peak: {peak:.1f} GFLOP/s; one denoiser evaluation: {flops / 1e9:.1f} GFLOP")

    rows = []
    with torch.no_grad():
        expected = denoiser(*example).numpy()
        rows.append(("torch fp32 eager", median_seconds(lambda: denoiser(*example), args.repeats), peak_rss_gib()))

    workdir = tempfile.TemporaryDirectory(prefix="bench-stableviton-")
    ir_dir = Path(workdir.name)
    start = time.perf_counter()
    export_ir(loaded, ir_dir, height=args.height, width=args.width, variant="bench")
    print(f"export of the four IRs {time.perf_counter() - start:.1f} s")
    del loaded, denoiser

    core = ov.Core()
    config = ov_fp32_config(args.threads)
    model = core.read_model(ir_dir / f"{DENOISER}.xml")
    compiled = core.compile_model(model, "CPU", config)
    print(f"OpenVINO fp32 vs torch relative L2 {relative_l2(compiled(inputs)[0], expected):.2e}")
    rows.append(("OpenVINO fp32", median_seconds(lambda: compiled(inputs), args.repeats), peak_rss_gib()))
    del compiled

    if not args.no_int8:
        rng = np.random.default_rng(1)
        samples = [{**{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in inputs.items()},
                    "t": np.array([t], np.float32)} for t in np.linspace(981, 1, args.calib_samples)]
        start = time.perf_counter()
        compiled8 = core.compile_model(quantize_ptq(model, samples), "CPU", config)
        print(f"NNCF PTQ on {len(samples)} random samples {time.perf_counter() - start:.1f} s; INT8 vs torch relative L2 "
              f"{relative_l2(compiled8(inputs)[0], expected):.2e} (random weights: says nothing about real quality)")
        rows.append(("OpenVINO INT8 PTQ", median_seconds(lambda: compiled8(inputs), args.repeats), peak_rss_gib()))
        del compiled8
    del model

    peak = max(peak, sgemm_peak_gflops())
    print_backend_table(rows, flops, peak, unit="denoiser call")

    runtime = StableVITONRuntime(ir_dir, threads=args.threads)
    person = person_image(args.height, args.width)[:, :, ::-1].copy()
    mask = np.zeros((args.height, args.width), np.uint8)
    mask[args.height // 5: 4 * args.height // 5, args.width // 6: 5 * args.width // 6] = 255
    pair = (person, person, mask, person, person)
    calls = {"n": 0}
    runtime.denoiser_input_hook = lambda _inputs: calls.__setitem__("n", calls["n"] + 1)
    runtime(*pair, steps=1, seed=0)  # warm-up
    timer = StepTimer(runtime, PARTS)
    calls["n"] = 0
    start = time.perf_counter()
    runtime(*pair, steps=args.steps, seed=0)
    total = time.perf_counter() - start
    counts = {"garment_encoder": 1, "vae_encoder": 1, "denoiser": calls["n"], "vae_decoder": 1}
    print(f"\nOne pair, {args.steps} PLMS steps ({runtime.step_count(args.steps)} steps, {calls['n']} denoiser calls): "
          f"{total:.2f} s; peak RSS {peak_rss_gib():.2f} GiB")
    print("| part | calls | s | s / call | share |")
    print("|---|---|---|---|---|")
    for name in PARTS:
        seconds = timer.spent[name]
        print(f"| {name} | {counts[name]} | {seconds:.3f} | {seconds / counts[name]:.3f} | {100 * seconds / total:.1f}% |")
    rest = total - sum(timer.spent.values())
    print(f"| numpy (resize, sampler, posterior draws) | - | {rest:.3f} | - | {100 * rest / total:.1f}% |")
    workdir.cleanup()


if __name__ == "__main__":
    main()
