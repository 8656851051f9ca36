"""Full-size DensePose R50-FPN with random weights (no download): torch eager vs OpenVINO fp32 for
the backbone IR (ResNet-50 + FPN + RPN head), then the whole DensePoseRuntime call split by step.

    python bench/densepose.py                    # image 1024x768 -> resized 1067x800 -> padded 1088x800
    python bench/densepose.py --image 1024x1024
    python bench/densepose.py --preset tiny      # seconds: checks the script itself

Weights: tiny.tiny_state() at the official widths (DensePoseConfig()), whose person-class bias
makes the box head keep detections, so the runtime goes through every step. The IRs are written by
the project's export code (export.export_ir) at the image's padded size, which is what the runtime
compiles in its default "exact" pad mode. Prints the median time of each backend, the ratio,
FLOPs of one backbone forward, GFLOP/s against the better of two sgemm peaks (before and after),
peak RSS after each phase (cumulative: ru_maxrss only grows), the relative L2 of the outputs, and
the median time of each runtime step. Cost depends on weight values only through the number of
proposals and detections, which are printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

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
from vtonpipe.models.densepose import boxes as B  # noqa: E402
from vtonpipe.models.densepose.definition import BackboneGraph, DensePoseConfig, DensePoseRCNN  # noqa: E402
from vtonpipe.models.densepose.export import BACKBONE_OUTPUTS, export_ir  # noqa: E402
from vtonpipe.models.densepose.runtime import DensePoseRuntime  # noqa: E402
from vtonpipe.models.densepose.tiny import TINY_CONFIG, tiny_state  # noqa: E402

# preset -> (config, shortest edge, longest edge cap); tiny's sizes are build_tiny_ir's.
PRESETS = {"full": (DensePoseConfig(), 800, 1333), "tiny": (TINY_CONFIG, 96, 128)}
STEPS = ("preprocess", "backbone", "proposals", "pool_boxes", "box_head", "detect", "densepose_maps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="full")
    parser.add_argument("--image", default="1024x768", help="HxW of the image given to DensePoseRuntime")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up (median)")
    parser.add_argument("--threads", type=int, default=None, help="OpenVINO and torch threads (default: all cores)")
    args = parser.parse_args()
    cfg, min_size, max_size = PRESETS[args.preset]
    height, width = (int(v) for v in args.image.lower().split("x"))
    if args.threads:
        torch.set_num_threads(args.threads)

    model = DensePoseRCNN(cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tiny_state(0, cfg).items()})
    backbone = BackboneGraph(model.eval()).eval()

    bgr = person_image(height, width)
    resized = B.resized_shape(height, width, min_size, max_size)
    padded = (-(-resized[0] // 32) * 32, -(-resized[1] // 32) * 32)
    # preprocess reads only these attributes: build the input before any IR exists, so the torch
    # phase's RSS holds torch alone.
    geometry = SimpleNamespace(min_size=min_size, max_size=max_size, pad_mode="exact", canvas=padded)
    x, _ = DensePoseRuntime.preprocess(geometry, bgr)
    x_t = torch.from_numpy(x)
    print(f"DensePose R50-FPN {args.preset}: image {height}x{width} -> resized {resized[0]}x{resized[1]} "
          f"-> padded {padded[0]}x{padded[1]}")
    print(f"torch {torch.__version__}, OpenVINO {ov.__version__}, threads {args.threads or torch.get_num_threads()}")

    peak = sgemm_peak_gflops()
    flops = forward_flops(backbone, (x_t,))
    print(f"sgemm 4096 peak: {peak:.1f} GFLOP/s; one backbone+FPN+RPN forward: {flops / 1e9:.4g} GFLOP")

    rows = []
    with torch.no_grad():
        expected = [t.numpy() for t in backbone(x_t)]
        rows.append(("torch fp32 eager", median_seconds(lambda: backbone(x_t), args.repeats), peak_rss_gib()))

    with tempfile.TemporaryDirectory(prefix="bench-densepose-") as tmp:
        start = time.perf_counter()
        ir_dir = export_ir(model, Path(tmp) / "ir", canvas=padded, min_size=min_size, max_size=max_size,
                           variant=f"bench-{args.preset}")
        convert_s = time.perf_counter() - start
        compiled = ov.Core().compile_model(str(ir_dir / "backbone.xml"), "CPU", ov_fp32_config(args.threads))
        result = compiled({"image": x})
        rel = {name: relative_l2(result[compiled.output(name)], ref) for name, ref in zip(BACKBONE_OUTPUTS, expected)}
        rows.append(("OpenVINO fp32", median_seconds(lambda: compiled({"image": x}), args.repeats), peak_rss_gib()))
        worst = max(rel, key=rel.get)
        print(f"export of the 4 IRs (project export_ir) {convert_s:.1f} s; OpenVINO vs torch relative L2: "
              f"p2 {rel['p2']:.2e}, worst {worst} {rel[worst]:.2e}")
        del compiled

        runtime = DensePoseRuntime(ir_dir, threads=args.threads)
        timer = StepTimer(runtime, STEPS)
        t_call, med = timer.median_steps(lambda: runtime(bgr), args.repeats)
        found = runtime(bgr)
        proposals = len(runtime.proposals(runtime.backbone(x), resized))
        rss_call = peak_rss_gib()

    peak_after = sgemm_peak_gflops()
    print(f"sgemm 4096 peak after the runs: {peak_after:.1f} GFLOP/s")
    peak = max(peak, peak_after)
    print_backend_table(rows, flops, peak, unit="forward")

    people = "no person" if found is None else f"{len(found.scores)} detection(s), top score {found.score:.3f}"
    print(f"\nDensePoseRuntime call, {height}x{width} image: {proposals} RPN proposals, {people} "
          f"(median of {args.repeats}, peak RSS {rss_call:.2f} GiB)")
    print("| step | s | % of call |")
    print("|---|---|---|")
    parts = [
        ("preprocess (resize, mean, pad)", med["preprocess"]),
        (f"backbone IR (R50+FPN+RPN, {padded[0]}x{padded[1]})", med["backbone"]),
        ("proposals+ROIAlign+box head (detect)", med["detect"]),
        ("  of which: RPN decode + NMS (proposals)", med["proposals"]),
        ("  of which: ROIAlign 7x7 (pool_boxes)", med["pool_boxes"]),
        (f"  of which: box head IR, chunks of {runtime.box_batch}", med["box_head"]),
        ("decoder IR + ROIAlign 28x28 + DensePose head IR (densepose_maps)", med["densepose_maps"]),
    ]
    for name, seconds in parts:
        print(f"| {name} | {seconds:.3f} | {100 * seconds / t_call:.0f}% |")
    rest = t_call - med["preprocess"] - med["backbone"] - med["detect"] - med["densepose_maps"]
    print(f"| rest (box mapping, label paste) | {rest:.3f} | {100 * rest / t_call:.0f}% |")
    print(f"| whole call | {t_call:.3f} | 100% |")


if __name__ == "__main__":
    main()
