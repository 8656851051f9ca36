"""One CatVTON pair end to end at 512x384, full SD-1.5 size with random weights: vtonpipe's
OpenVINO runtime against the torch reference pipeline (models/catvton/reference.py), in one run,
at the default settings (DDIM, guidance 2.5, eta 1); then the stage overhead.

    python bench/pipeline.py                      # full size: about 10 minutes (plus conversion once)
    python bench/pipeline.py --quick              # tiny preset: checks the script itself

Both pipelines run `--steps` denoising steps end to end, `--rounds` times, alternating (OpenVINO,
torch, OpenVINO, torch ...) so that load from other processes falls on both alike; every model
call is timed. The speed-up at `--steps` is the median over rounds of each round's torch/OpenVINO
time ratio (a paired comparison: slow drifts of the machine's load cancel). A 50-step time is
composed from the median per-call times as encode + decode + 50 x UNet call + the rest of a round
(a measured 50-step run costs about 13 minutes per pipeline here); the table says which figures
are measured and which composed.
Stage overhead: `--pairs` pairs through a tryon-stage-like loop (load PNGs, preprocess, run,
save PNG) against the sum of the model calls inside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import openvino as ov
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.random_catvton import PRESETS, ir_folder, random_weights  # noqa: E402
from bench.timing import person_image  # noqa: E402
from vtonpipe.atomic import atomic_save_image  # noqa: E402
from vtonpipe.datasets.images import load_labels, load_rgb  # noqa: E402
from vtonpipe.models.catvton.reference import reference_tryon  # noqa: E402
from vtonpipe.models.catvton.runtime import CatVTONRuntime  # noqa: E402

DEFAULTS = dict(guidance_scale=2.5, eta=1.0)


class CallTimes:
    """Wall time of every call of the wrapped callables, by label."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = defaultdict(list)

    def wrap(self, label: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label].append(time.perf_counter() - start)

        return timed

    def total(self) -> float:
        return sum(sum(v) for v in self.seconds.values())

    def clear(self) -> None:
        self.seconds.clear()


def time_runtime_calls(rt: CatVTONRuntime) -> CallTimes:
    """Times every IR call of the runtime, labelled by IR name."""
    times = CallTimes()
    run = rt._run
    rt._run = lambda name, batch, inputs: times.wrap(name, run)(name, batch, inputs)
    return times


def time_torch_calls(weights) -> CallTimes:
    times = CallTimes()
    weights.unet.forward = times.wrap("unet", weights.unet.forward)
    weights.vae.encode = times.wrap("vae_encoder", weights.vae.encode)
    weights.vae.decode = times.wrap("vae_decoder", weights.vae.decode)
    return times


def test_pair(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    person = person_image(height, width, seed=1)
    garment = person_image(height, width, seed=2)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 5 : 4 * height // 5, width // 6 : 5 * width // 6] = 255
    return person, garment, mask


def end_to_end(run, times: CallTimes) -> dict:
    """One timed run: total seconds, the seconds of each model call, the image."""
    times.clear()
    start = time.perf_counter()
    image = run()
    total = time.perf_counter() - start
    return {"total": total, "calls": {k: list(v) for k, v in times.seconds.items()}, "image": image}


def summary(name: str, runs: list[dict], steps: int) -> dict:
    """Median round, median call of each model, and the 50-step time composed from them."""
    def median_call(label: str, per_run) -> float:
        return statistics.median(per_run(run["calls"][label]) for run in runs)

    unet = statistics.median(t for run in runs for t in run["calls"]["unet"])
    encode, decode = median_call("vae_encoder", sum), median_call("vae_decoder", sum)
    other = statistics.median(run["total"] - sum(sum(v) for v in run["calls"].values()) for run in runs)
    return {"name": name, "median": statistics.median(r["total"] for r in runs), "best": min(r["total"] for r in runs),
            "unet": unet, "encode": encode, "decode": decode, "other": other,
            "total50": encode + decode + 50 * unet + other}


def stage_loop(rt: CatVTONRuntime, times: CallTimes, pair, n: int, steps: int, folder: Path) -> tuple[float, float]:
    """n pairs read from PNG files, run and saved as PNG; returns (loop seconds, model-call seconds)."""
    person, garment, mask = pair
    for i in range(n):
        atomic_save_image(folder / f"person{i}.png", person)
        atomic_save_image(folder / f"garment{i}.png", garment)
        atomic_save_image(folder / f"mask{i}.png", mask)
    times.clear()
    start = time.perf_counter()
    for i in range(n):
        p, g, m = load_rgb(folder / f"person{i}.png"), load_rgb(folder / f"garment{i}.png"), load_labels(folder / f"mask{i}.png")
        image = rt(p, g, m, steps=steps, seed=i, **DEFAULTS)
        atomic_save_image(folder / "results" / f"pair{i}.png", image)
    return time.perf_counter() - start, times.total()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny preset (checks the script, times nothing real)")
    parser.add_argument("--steps", type=int, default=2, help="denoising steps of the measured runs")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each pipeline")
    parser.add_argument("--pairs", type=int, default=2, help="pairs through the stage-like loop")
    parser.add_argument("--stage-steps", type=int, default=1, help="denoising steps of each stage-loop pair")
    parser.add_argument("--ir", type=Path, help="IR folder to reuse or convert into (default: a temporary one)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads of both (default: all CPUs); OpenVINO runs them unpinned, as a stage does")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    preset = "tiny" if args.quick else "sd15"
    height, width = PRESETS[preset][2]
    print(f"CatVTON end to end, {preset} random weights at {height}x{width}, {args.steps} steps, guidance 2.5, eta 1; "
          f"torch {torch.__version__} and OpenVINO {ov.__version__}, {args.threads} threads each; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)

    weights = random_weights(preset)
    with tempfile.TemporaryDirectory() as tmp:
        ir = ir_folder(lambda: weights, args.ir or Path(tmp) / "ir", height, width)
        pair = test_pair(height, width)

        rt = CatVTONRuntime(ir, threads=args.threads)
        ov_times = time_runtime_calls(rt)
        torch_times = time_torch_calls(weights)
        rt.compiled("unet", 2 * rt.batch)  # compiled before timing
        ov_run = lambda: rt(*pair, steps=args.steps, seed=0, **DEFAULTS)  # noqa: E731
        ref_run = lambda: reference_tryon(weights, *pair, height=height, width=width, steps=args.steps, seed=0,  # noqa: E731
                                          **DEFAULTS)
        ov_runs, ref_runs = [], []
        for r in range(args.rounds):
            ov_runs.append(end_to_end(ov_run, ov_times))
            print(f"  round {r + 1}: OpenVINO {ov_runs[-1]['total']:.1f} s", flush=True)
            ref_runs.append(end_to_end(ref_run, torch_times))
            print(f"  round {r + 1}: torch {ref_runs[-1]['total']:.1f} s", flush=True)
        ours, ref = summary("vtonpipe OpenVINO", ov_runs, args.steps), summary("torch reference", ref_runs, args.steps)
        diff = np.abs(ov_runs[-1]["image"].astype(int) - ref_runs[-1]["image"]).max()

        loop_s, model_s = stage_loop(rt, ov_times, pair, args.pairs, args.stage_steps, Path(tmp) / "stage")

    print(f"\nsame weights and noise: the two images differ by at most {diff} levels of 255\n")
    print(f"| pipeline | {args.steps} steps s, median of {args.rounds} (best) | UNet call s | VAE encode s | "
          f"VAE decode s | other s | 50 steps s composed |")
    print("|---|---|---|---|---|---|---|")
    for row in (ref, ours):
        print(f"| {row['name']} | {row['median']:.1f} ({row['best']:.1f}) | {row['unet']:.2f} | {row['encode']:.2f} | "
              f"{row['decode']:.2f} | {row['other']:.2f} | {row['total50']:.0f} |")
    paired = [r["total"] / o["total"] for r, o in zip(ref_runs, ov_runs)]
    print(f"\nOpenVINO / torch speed-up per pair: {statistics.median(paired):.2f}x at {args.steps} steps (measured: median "
          f"of the rounds' ratios {', '.join(f'{x:.2f}' for x in paired)}), {ref['total50'] / ours['total50']:.2f}x at 50 "
          f"steps (composed from median per-call times); per call: UNet {ref['unet'] / ours['unet']:.2f}x, "
          f"encode {ref['encode'] / ours['encode']:.2f}x, decode {ref['decode'] / ours['decode']:.2f}x")
    overhead = loop_s - model_s
    print(f"\nstage-like loop: {args.pairs} pairs in {loop_s:.2f} s, model calls {model_s:.2f} s, overhead {overhead:.3f} s "
          f"= {100 * overhead / model_s:.2f}% of model time at {args.stage_steps} steps a pair (more steps amortize the "
          f"file and preprocessing work, so this bounds the 50-step share)")
    if args.quick:
        print("\n--quick: tiny weights; the times check the script only.")


if __name__ == "__main__":
    main()
