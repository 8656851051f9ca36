"""Full-size SCHP (AugmentCE2P ResNet-101) with random weights (no download): torch eager vs
OpenVINO fp32 on one input, then the whole SCHPRuntime call on a person-sized image, in one run.

    python bench/schp.py                         # LIP: 20 classes at 473x473, image 1024x768
    python bench/schp.py --dataset atr           # ATR: 18 classes at 512x512
    python bench/schp.py --preset tiny           # seconds: checks the script itself

The network input is the runtime's own letterboxed, normalised 1024x768 image; the IR is written
by the project's export code (vtonpipe.models.schp.export.export_ir, fp32). Prints the median time
of each backend, the ratio, FLOPs of one forward (torch.utils.flop_counter), GFLOP/s against the
better of two sgemm peaks (before and after), peak RSS after each phase (cumulative: ru_maxrss
only grows), the relative L2 of the logits, and the runtime call split into letterbox +
normalise / network / inverse warp + argmax, timed inside the call. Cost does not depend on
weight values.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

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
from vtonpipe.labels.parsing import LABEL_SETS  # noqa: E402
from vtonpipe.models.schp import INPUT_NAME, IR_NAME, transforms  # noqa: E402
from vtonpipe.models.schp.definition import SCHPConfig, SCHPNet, SCHPParser  # noqa: E402
from vtonpipe.models.schp.export import export_ir  # noqa: E402
from vtonpipe.models.schp.runtime import SCHPRuntime  # noqa: E402
from vtonpipe.models.schp.tiny import TINY_INPUT_SIZE, TINY_LAYERS, TINY_WIDTH, random_state_dict  # noqa: E402

PRESETS = {"full": (64, (3, 4, 23, 3)), "tiny": (TINY_WIDTH, TINY_LAYERS)}
PRE_STEPS = ["letterbox_matrix", "warp_to_input", "normalize"]
POST_STEPS = ["inverse_matrix", "warp_logits_back", "labels_from_logits"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="full")
    parser.add_argument("--dataset", choices=sorted(LABEL_SETS), default="lip")
    parser.add_argument("--input-size", type=int, default=None, help="square network input (default: as trained)")
    parser.add_argument("--image", default="1024x768", help="HxW of the image given to SCHPRuntime")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up (median)")
    parser.add_argument("--threads", type=int, default=None, help="OpenVINO and torch threads (default: all cores)")
    args = parser.parse_args()
    labels = LABEL_SETS[args.dataset]
    size = args.input_size or (TINY_INPUT_SIZE if args.preset == "tiny" else labels.input_size)
    height, width = (int(v) for v in args.image.lower().split("x"))
    if args.threads:
        torch.set_num_threads(args.threads)

    width_ch, layers = PRESETS[args.preset]
    cfg = SCHPConfig(num_classes=labels.num_classes, width=width_ch, layers=layers)
    net = SCHPNet(cfg)
    net.load_state_dict(random_state_dict(cfg, seed=0))
    model = SCHPParser(net.eval()).eval()

    bgr = person_image(height, width)
    matrix = transforms.letterbox_matrix(width, height, (size, size))
    x = transforms.normalize(transforms.warp_to_input(bgr, matrix, (size, size)))
    x_t = torch.from_numpy(x)
    print(f"SCHP {args.preset} {args.dataset} ({labels.num_classes} classes) at {size}x{size}: "
          f"width {width_ch}, blocks {list(layers)}")
    print(f"torch {torch.__version__}, OpenVINO {ov.__version__}, threads {args.threads or torch.get_num_threads()}")

    peak = sgemm_peak_gflops()
    flops = forward_flops(model, (x_t,))
    print(f"sgemm 4096 peak: {peak:.1f} GFLOP/s; one forward: {flops / 1e9:.4g} GFLOP")

    rows = []
    with torch.no_grad():
        expected = model(x_t).numpy()
        rows.append(("torch fp32 eager", median_seconds(lambda: model(x_t), args.repeats), peak_rss_gib()))

    with tempfile.TemporaryDirectory(prefix="bench-schp-") as tmp:
        start = time.perf_counter()
        ir_dir = export_ir(net, labels, Path(tmp) / "ir", input_size=size, variant=f"bench-{args.preset}")
        convert_s = time.perf_counter() - start
        compiled = ov.Core().compile_model(str(ir_dir / f"{IR_NAME}.xml"), "CPU", ov_fp32_config(args.threads))
        inputs = {INPUT_NAME: x}
        rel = relative_l2(compiled(inputs)[0], expected)
        rows.append(("OpenVINO fp32", median_seconds(lambda: compiled(inputs), args.repeats), peak_rss_gib()))
        print(f"export (project export_ir) {convert_s:.1f} s; OpenVINO fp32 vs torch logits relative L2 {rel:.2e}")
        del compiled

        runtime = SCHPRuntime(ir_dir, threads=args.threads)
        # The runtime reaches its geometry through the transforms module: time those calls inside it.
        timer = StepTimer(transforms, PRE_STEPS + POST_STEPS)
        t_call, steps = timer.median_steps(lambda: runtime(bgr), args.repeats)
        rss_call = peak_rss_gib()

    peak_after = sgemm_peak_gflops()
    print(f"sgemm 4096 peak after the runs: {peak_after:.1f} GFLOP/s")
    peak = max(peak, peak_after)
    print_backend_table(rows, flops, peak, unit="forward")

    print(f"\nSCHPRuntime call on a {height}x{width} image (median of {args.repeats}, peak RSS {rss_call:.2f} GiB):")
    print("| part | s | % of call |")
    print("|---|---|---|")
    t_pre = sum(steps[name] for name in PRE_STEPS)
    t_post = sum(steps[name] for name in POST_STEPS)
    parts = [("letterbox warp + normalise", t_pre),
             (f"network: infer request ({size}x{size}) and the rest of the call", t_call - t_pre - t_post),
             (f"inverse warp of {labels.num_classes} logit maps + argmax", t_post)]
    for name, seconds in parts:
        print(f"| {name} | {seconds:.3f} | {100 * seconds / t_call:.0f}% |")
    print(f"| whole call | {t_call:.3f} | 100% |")


if __name__ == "__main__":
    main()
