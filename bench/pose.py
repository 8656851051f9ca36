"""OpenPose body estimation on one 1024x768 photo: the upstream ``Body`` (torch forward + numpy
post-processing at full resolution) against OpenPoseRuntime (OpenVINO + the cut-down exact
post-processing), side by side in one run, per code variant.

    python bench/pose.py                    # both variants, 1024x768, median of 3
    python bench/pose.py --variant controlnet11
    python bench/pose.py --quick            # 512x384, one timed run: checks the script itself

Weights: official shapes (52.3 M parameters) with the tiny preset's pose template, so both sides
find the same single person and the post-processing does realistic work (the cost does not
depend on the weight values otherwise). The upstream code is unpacked from the git snapshot the
parity tests use (tests/openpose_upstream.py); the network time is measured inside each call,
the post-processing is the rest of the call. Keypoints of both sides are compared.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from openpose_upstream import official_body  # noqa: E402

from bench.timing import StepTimer, peak_rss_gib  # noqa: E402
from vtonpipe.datasets.synthetic import draw_person  # noqa: E402
from vtonpipe.models.openpose.checkpoint import load_checkpoint  # noqa: E402
from vtonpipe.models.openpose.export import export_ir  # noqa: E402
from vtonpipe.models.openpose.resize import VARIANTS  # noqa: E402
from vtonpipe.models.openpose.runtime import OpenPoseRuntime  # noqa: E402
from vtonpipe.models.openpose.tiny import write_tiny_weights  # noqa: E402


def compare(ours: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray]) -> str:
    """How far our candidates and persons are from upstream's."""
    (cand, subset), (ref_cand, ref_subset) = ours, ref
    if len(cand) != len(ref_cand) or subset.shape != ref_subset.shape:
        return f"DIFFERENT: {len(cand)} vs {len(ref_cand)} candidates, {len(subset)} vs {len(ref_subset)} persons"
    same_ids = np.array_equal(subset[:, :18], ref_subset[:, :18])
    shift = float(np.abs(cand[:, :2] - ref_cand[:, :2]).max()) if len(cand) else 0.0
    return (f"{len(cand)} candidates, {len(subset)} person(s); same part ids: {same_ids}; "
            f"largest keypoint shift {shift:.0f} px")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=[*VARIANTS, "both"], default="both")
    parser.add_argument("--image", default="1024x768", help="HxW of the photo")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up (median)")
    parser.add_argument("--threads", type=int, default=None, help="torch and OpenVINO threads (default: all cores)")
    parser.add_argument("--quick", action="store_true", help="512x384, one timed run")
    args = parser.parse_args()
    if args.quick:
        args.image, args.repeats = "512x384", 1
    height, width = (int(v) for v in args.image.lower().split("x"))
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    bgr = np.ascontiguousarray(draw_person(np.random.default_rng(0), height, width).image[:, :, ::-1])
    print(f"OpenPose body, {height}x{width} photo, torch {torch.__version__}, OpenVINO {ov.__version__}, "
          f"threads {args.threads or torch.get_num_threads()}, median of {args.repeats}")

    with tempfile.TemporaryDirectory(prefix="bench-pose-") as tmp:
        tmp = Path(tmp)
        weights = write_tiny_weights(tmp / "weights", width=64)
        start = time.perf_counter()
        ir_dir = export_ir(load_checkpoint(weights), tmp / "ir", sources=[weights])
        print(f"export (export_ir, official shapes) {time.perf_counter() - start:.1f} s")
        rows = []
        for variant in variants:
            runtime = OpenPoseRuntime(ir_dir, threads=args.threads, variant=variant)
            ours_timer = StepTimer(runtime, ["network"])
            ours_call, ours_steps = ours_timer.median_steps(lambda: runtime.candidates(bgr), args.repeats)
            with official_body(variant, tmp / variant) as (body_cls, commit):
                body = body_cls(str(weights))
                ref_timer = StepTimer(body, ["model"])
                ref_call, ref_steps = ref_timer.median_steps(lambda: body(bgr), args.repeats)
                check = compare(runtime.candidates(bgr), body(bgr))
            print(f"{variant}: upstream {commit[:7]}; {check}; peak RSS {peak_rss_gib():.2f} GiB")
            rows.append((variant, ref_steps["model"], ours_steps["network"], ref_call, ours_call))

    print("\n| variant | step | upstream Body (torch + numpy) s | OpenPoseRuntime (OpenVINO + numpy) s | speed-up |")
    print("|---|---|---|---|---|")
    for variant, ref_net, our_net, ref_call, our_call in rows:
        for step, ref_s, our_s in (("network", ref_net, our_net),
                                   ("post-processing", ref_call - ref_net, our_call - our_net),
                                   ("whole call", ref_call, our_call)):
            print(f"| {variant} | {step} | {ref_s:.3f} | {our_s:.3f} | {ref_s / our_s:.1f}x |")


if __name__ == "__main__":
    main()
