"""One CatVTON pair end to end at 512x384, full SD-1.5 size with random weights: vtonpipe's
OpenVINO runtime against the torch reference pipeline (models/catvton/reference.py), in one run,
at the default settings (DDIM, guidance 2.5, eta 1); then the stage overhead.

    python bench/pipeline.py                      # full size: about 10 minutes (plus conversion once)
    python bench/pipeline.py --quick              # tiny preset: checks the script itself

Both pipelines run `--steps` denoising steps end to end, timed with each model call. A 50-step
time is extrapolated as measured run + (50 - steps) x median UNet call (a measured 50-step run
costs about 13 minutes per pipeline here); the table says which figures are extrapolated.
Stage overhead: `--pairs` pairs through a tryon-stage-like loop (load PNGs, preprocess, run,
save PNG) against the sum of the model calls inside it.
"""

from __future__ import annotations

import argparse
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


def end_to_end(name: str, run, times: CallTimes, steps: int) -> dict:
    times.clear()
    start = time.perf_counter()
    image = run()
    total = time.perf_counter() - start
    unet = statistics.median(times.seconds["unet"])
    return {"name": name, "total": total, "unet": unet, "calls": {k: sum(v) for k, v in times.seconds.items()},
            "total50": total + (50 - steps) * unet, "image": image}


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
    parser.add_argument("--pairs", type=int, default=2, help="pairs through the stage-like loop")
    parser.add_argument("--ir", type=Path, help="IR folder to reuse or convert into (default: a temporary one)")
    args = parser.parse_args()
    preset = "tiny" if args.quick else "sd15"
    height, width = PRESETS[preset][2]
    print(f"CatVTON end to end, {preset} random weights at {height}x{width}, {args.steps} steps, guidance 2.5, eta 1; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), OpenVINO {ov.__version__}")

    weights = random_weights(preset)
    with tempfile.TemporaryDirectory() as tmp:
        ir = ir_folder(weights, args.ir or Path(tmp) / "ir", height, width)
        pair = test_pair(height, width)

        rt = CatVTONRuntime(ir)
        ov_times = time_runtime_calls(rt)
        rt(*pair, steps=1, seed=0, **DEFAULTS)  # warm-up: compiles the UNet, first inference of every IR
        ours = end_to_end("vtonpipe OpenVINO", lambda: rt(*pair, steps=args.steps, seed=0, **DEFAULTS), ov_times, args.steps)

        torch_times = time_torch_calls(weights)
        reference = lambda steps: reference_tryon(weights, *pair, height=height, width=width, steps=steps, seed=0, **DEFAULTS)  # noqa: E731
        reference(1)  # warm-up
        ref = end_to_end("torch reference", lambda: reference(args.steps), torch_times, args.steps)
        diff = np.abs(ours["image"].astype(int) - ref["image"]).max()

        loop_s, model_s = stage_loop(rt, ov_times, pair, args.pairs, args.steps, Path(tmp) / "stage")

    print(f"\nsame weights and noise: the two images differ by at most {diff} levels of 255\n")
    print(f"| pipeline | {args.steps} steps s (measured) | UNet call s | VAE encode s | VAE decode s | 50 steps s (extrapolated) |")
    print("|---|---|---|---|---|---|")
    for row in (ref, ours):
        print(f"| {row['name']} | {row['total']:.1f} | {row['unet']:.2f} | {row['calls']['vae_encoder']:.2f} | "
              f"{row['calls']['vae_decoder']:.2f} | {row['total50']:.0f} |")
    print(f"\nOpenVINO / torch speed-up per pair: {ref['total'] / ours['total']:.2f}x at {args.steps} steps (measured), "
          f"{ref['total50'] / ours['total50']:.2f}x at 50 steps (extrapolated from per-call times)")
    overhead = loop_s - model_s
    print(f"\nstage-like loop: {args.pairs} pairs in {loop_s:.2f} s, model calls {model_s:.2f} s, overhead {overhead:.3f} s "
          f"= {100 * overhead / model_s:.2f}% of model time at {args.steps} steps (more steps amortize the file "
          f"and preprocessing work, so this bounds the 50-step share)")
    if args.quick:
        print("\n--quick: tiny weights; the times check the script only.")


if __name__ == "__main__":
    main()
