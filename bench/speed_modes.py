"""CatVTON speed modes against the default (DDIM 50 steps, guidance 2.5, eta 1), on the same pairs:
seconds per pair and speed-up at full SD-1.5 size (512x384, random weights), and how far each
mode's renders move from the default's (SSIM, mean absolute difference) on the tiny preset.

    python bench/speed_modes.py                   # full size: about 10 minutes (plus conversion once)
    python bench/speed_modes.py --quick           # tiny preset for the times too: checks the script

Each mode runs every pair of a small catalog (persons x garments) through the runtime on tiny
weights, which gives its renders and its exact IR call counts per pair. Seconds per pair are
those call counts times per-call costs measured at full size (median of --repeats calls after a
warm-up call, the IRs called in turn): model time, extrapolated rather than run end to end, since the default alone
takes about 13 minutes a pair here. One mode is then run end to end at full size to compare the
measured time with the prediction. LPIPS is not reported: with random weights it is as
meaningless as SSIM, and SSIM needs no extra IR.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.random_catvton import PRESETS, ir_folder, random_weights  # noqa: E402
from bench.timing import person_image  # noqa: E402
from vtonpipe.eval.metrics import ssim  # noqa: E402
from vtonpipe.models.catvton.latent_cache import sharing_order  # noqa: E402
from vtonpipe.models.catvton.runtime import CatVTONRuntime  # noqa: E402

DEFAULT = dict(sampler="ddim", steps=50, guidance_scale=2.5)
DETERMINISTIC = "DDIM 50, eta 0"
OFF25 = dict(sampler="dpmpp-2m", steps=25, guidance_scale=1.0)
# (name, runtime options, latent cache keys on)
MODES = [
    ("default: DDIM 50, guidance 2.5", DEFAULT, False),
    ("guidance off", dict(DEFAULT, guidance_scale=1.0), False),
    (DETERMINISTIC, dict(DEFAULT, eta=0.0), False),
    ("DPM++ 2M 25", dict(sampler="dpmpp-2m", steps=25, guidance_scale=2.5), False),
    ("DPM++ 2M 25, guidance off", OFF25, False),
    ("DPM++ 2M 20, guidance off", dict(OFF25, steps=20), False),
    ("DPM++ 2M SDE 25, guidance off", dict(OFF25, sampler="dpmpp-2m-sde"), False),
    ("DDIM 50, DeepCache 3", dict(DEFAULT, cache_interval=3), False),
    ("DPM++ 2M 25, guidance off, DeepCache 2", dict(OFF25, cache_interval=2), False),
    ("DPM++ 2M 25, guidance off, DeepCache 3", dict(OFF25, cache_interval=3), False),
    ("DPM++ 2M 25, guidance off, DeepCache 5", dict(OFF25, cache_interval=5), False),
    ("DPM++ 2M 20, guidance off, DeepCache 3", dict(OFF25, steps=20, cache_interval=3), False),
    ("default + catalog latent cache", DEFAULT, True),
    ("DPM++ 2M 25, guidance off, DeepCache 3 + catalog latent cache", dict(OFF25, cache_interval=3), True),
]
VALIDATE = "DPM++ 2M 25, guidance off, DeepCache 3"


def catalog(persons: int, garments: int, height: int, width: int):
    """Every person with every garment: lists of person, garment, mask images and their ids."""
    people = [person_image(height, width, seed=i) for i in range(persons)]
    clothes = [person_image(height, width, seed=100 + j) for j in range(garments)]
    mask = np.zeros((height, width), np.uint8)
    mask[height // 5 : 4 * height // 5, width // 6 : 5 * width // 6] = 255
    pairs = [(i, j) for j in range(garments) for i in range(persons)]
    return ([people[i] for i, _ in pairs], [clothes[j] for _, j in pairs], [mask] * len(pairs),
            [f"person{i}" for i, _ in pairs], [f"garment{j}" for _, j in pairs])


def render(rt: CatVTONRuntime, pairs, options: dict, keyed: bool) -> tuple[list[np.ndarray], Counter]:
    """Renders of every pair (in input order) and the IR calls they took."""
    persons, garments, masks, person_ids, garment_ids = pairs
    n = len(persons)
    seeds = list(range(n))
    rt.calls.clear()
    rt.latent_cache.clear()
    if not keyed:
        return rt.generate(persons, garments, masks, seeds=seeds, **options), Counter(rt.calls)
    order = sharing_order(person_ids, garment_ids)
    pick = lambda items: [items[i] for i in order]  # noqa: E731
    images = rt.generate(pick(persons), pick(garments), pick(masks), seeds=pick(seeds), person_keys=pick(person_ids),
                         garment_keys=pick(garment_ids), **options)
    out: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    for position, i in enumerate(order):
        out[i] = images[position]
    return out, Counter(rt.calls)


def call_costs(rt: CatVTONRuntime, needed: set[tuple[str, int]], repeats: int) -> dict[tuple[str, int], float]:
    """Median of `repeats` calls of each (IR, batch) after a warm-up call, the IRs taken in turn
    so that load from other processes falls on all of them alike."""
    rng = np.random.default_rng(0)
    keys = sorted(needed)
    inputs = {}
    for name, batch in keys:
        model = rt.compiled(name, batch)
        inputs[(name, batch)] = {port.get_any_name(): rng.standard_normal(tuple(port.get_shape())).astype(np.float32)
                                 for port in model.inputs}
        if "timestep" in inputs[(name, batch)]:
            inputs[(name, batch)]["timestep"] = np.array([500.0], np.float32)
    times: dict[tuple[str, int], list[float]] = {key: [] for key in keys}
    for r in range(repeats + 1):
        for key in keys:
            start = time.perf_counter()
            rt.compiled(*key)(inputs[key])
            if r:  # the first round warms up
                times[key].append(time.perf_counter() - start)
        print(f"  round {r}: " + ", ".join(f"{n}@{b} {times[(n, b)][-1]:.2f} s" for n, b in keys) if r else "  warm-up done",
              flush=True)
    return {key: statistics.median(v) for key, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="time the tiny preset too (checks the script only)")
    parser.add_argument("--persons", type=int, default=2, help="catalog persons (pairs = persons x garments)")
    parser.add_argument("--garments", type=int, default=2, help="catalog garments")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per IR after a warm-up call")
    parser.add_argument("--ir", type=Path, help="full-size IR folder to reuse or convert into")
    parser.add_argument("--tiny-ir", type=Path, help="tiny IR folder to reuse or convert into")
    parser.add_argument("--no-validate", action="store_true", help="skip the end-to-end run at full size")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="OpenVINO threads (default: all CPUs), unpinned as a stage runs them")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tiny_h, tiny_w = PRESETS["tiny"][2]
        tiny = CatVTONRuntime(ir_folder(lambda: random_weights("tiny"), args.tiny_ir or Path(tmp) / "tiny", tiny_h, tiny_w),
                              threads=args.threads)
        pairs = catalog(args.persons, args.garments, 96, 72)
        n = len(pairs[0])
        print(f"fidelity: {n} pairs ({args.persons} persons x {args.garments} garments) on tiny random weights")
        results = {}
        for name, options, keyed in MODES:
            start = time.perf_counter()
            images, calls = render(tiny, pairs, {"eta": 1.0, **options}, keyed)
            results[name] = (images, calls)
            print(f"  {name}: {time.perf_counter() - start:.1f} s", flush=True)

        preset = "tiny" if args.quick else "sd15"
        height, width = PRESETS[preset][2]
        print(f"\nper-call costs, {preset} at {height}x{width}, load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs:", flush=True)
        if args.quick:
            big = tiny
        else:
            big = CatVTONRuntime(ir_folder(lambda: random_weights(preset), args.ir or Path(tmp) / "sd15", height, width),
                                 threads=args.threads)
        needed = set().union(*(calls.keys() for _, calls in results.values()))
        costs = call_costs(big, needed, args.repeats)

        validation = None
        if not args.quick and not args.no_validate:
            options = next(o for name, o, _ in MODES if name == VALIDATE)
            person, garment, mask = (pairs[k][0] for k in range(3))
            big.calls.clear()
            start = time.perf_counter()
            big(person, garment, mask, seed=0, **{"eta": 1.0, **options})
            validation = time.perf_counter() - start

    default_images = results[MODES[0][0]][0]
    ode_images = results[DETERMINISTIC][0]
    per_pair = {name: sum(count * costs[key] for key, count in calls.items()) / n for name, (_, calls) in results.items()}
    base = per_pair[MODES[0][0]]
    print(f"\n| mode | full UNet calls/pair | shallow calls/pair | encoder images/pair | s/pair ({preset}) | speed-up | "
          f"SSIM vs default, mean (min) | mean abs diff /255 | SSIM vs {DETERMINISTIC} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (images, calls) in results.items():
        full = sum(c for (ir, _), c in calls.items() if ir == "unet") / n
        shallow = sum(c for (ir, _), c in calls.items() if ir == "unet_shallow") / n
        encoded = sum(c * b for (ir, b), c in calls.items() if ir == "vae_encoder") / n
        scores = [ssim(a / 255.0, b / 255.0) for a, b in zip(images, default_images)]
        diff = np.mean([np.abs(a.astype(float) - b).mean() for a, b in zip(images, default_images)])
        ode = np.mean([ssim(a / 255.0, b / 255.0) for a, b in zip(images, ode_images)])
        print(f"| {name} | {full:g} | {shallow:g} | {encoded:g} | {per_pair[name]:.1f} | {base / per_pair[name]:.2f}x | "
              f"{np.mean(scores):.3f} ({min(scores):.3f}) | {diff:.1f} | {ode:.3f} |")
    if validation is not None:
        print(f"\nend to end at full size, '{VALIDATE}', one pair: measured {validation:.1f} s, "
              f"predicted from per-call costs {per_pair[VALIDATE] :.1f} s (model calls only)")
    print("\nSeconds per pair are model-call time: call counts of each mode x per-call costs measured above, "
          "not end-to-end runs (except the validation line).")
    print("Fidelity is measured on random (tiny) weights: it proves only that the mechanics work, and says "
          "nothing about image quality with real weights. DDIM with eta 1 draws fresh noise every step, so a "
          "deterministic sampler (DPM++ 2M, DDIM eta 0) lands on another sample of the same distribution: read the "
          f"deterministic samplers against {DETERMINISTIC} (last column).")
    if args.quick:
        print("--quick: times are of the tiny preset and check the script only.")


if __name__ == "__main__":
    main()
