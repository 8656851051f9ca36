"""The fast parser-free tier on full-size random weights at 256x192, in one run: torch eager vs
OpenVINO fp32 vs INT8 vs pruned DM-VTON (and PF-AFN fp32), plus pruned/INT8 fidelity.

    python bench/fast_tier.py                    # DM-VTON and PF-AFN, about 10 minutes on 2 cores
    python bench/fast_tier.py --no-pfafn         # DM-VTON only

Every IR is written by the project's export code from the tiny preset's weights (full size,
seeded, well conditioned). Reported per backend and batch size: seconds per call, per pair and
pairs/s (batch 8 fills one static batch-8 IR call). GFLOP/s counts convolutions only
(torch.utils.flop_counter, 2 FLOP per multiply-add) against the time OpenVINO's per-layer
profile spends in convolution nodes, compared with the sgemm peak measured in the same run.
The correlation's share: the five cost volumes of one forward, timed alone (in torch eager
inside the forward; in OpenVINO as their own IR), over the forward's time; the slice/multiply/
reduce "shift form" is timed alongside for comparison. "with image I/O" runs DMVTONRuntime on
JPEG files decoded with PIL and writes PNG results. Fidelity compares pruned and INT8 outputs
with fp32 on the same pairs (per-pair SSIM, mean absolute uint8 difference); on random weights
it bounds nothing about real checkpoints. Cost does not depend on weight values.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import openvino as ov
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import StepTimer, median_seconds, person_image, sgemm_peak_gflops  # noqa: E402
from vtonpipe.eval.metrics import ssim  # noqa: E402
from vtonpipe.models.common import appearance_flow  # noqa: E402
from vtonpipe.models.common.appearance_flow import MAX_DISPLACEMENT, ParserFreeTryOn, correlation  # noqa: E402
from vtonpipe.models.common.convert import to_openvino  # noqa: E402
from vtonpipe.models.common.ir import compile_ir  # noqa: E402
from vtonpipe.models.common.parser_free import batched_inputs, pair_inputs  # noqa: E402
from vtonpipe.models.dmvton import INPUT_NAMES  # noqa: E402
from vtonpipe.models.dmvton import checkpoint as dm_checkpoint  # noqa: E402
from vtonpipe.models.dmvton import export as dm_export  # noqa: E402
from vtonpipe.models.dmvton import tiny as dm_tiny  # noqa: E402
from vtonpipe.models.dmvton.runtime import DMVTONRuntime  # noqa: E402
from vtonpipe.models.pfafn import checkpoint as pf_checkpoint  # noqa: E402
from vtonpipe.models.pfafn import export as pf_export  # noqa: E402
from vtonpipe.models.pfafn import tiny as pf_tiny  # noqa: E402
from vtonpipe.models.pfafn.runtime import PFAFNRuntime  # noqa: E402

H, W = 256, 192
LEVELS = [(H // 2 ** k, W // 2 ** k) for k in range(1, 6)]
CONV_NODES = ("Convolution", "GroupConvolution", "ConvolutionBackpropData")


def shift_correlation(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """The slice/multiply/reduce form of the cost volume, for comparison only."""
    d, (h, w) = MAX_DISPLACEMENT, first.shape[2:]
    padded = F.pad(second, (d, d, d, d))
    planes = [(first * padded[:, :, d + dy:d + dy + h, d + dx:d + dx + w]).sum(1, keepdim=True)
              for dy in range(-d, d + 1) for dx in range(-d, d + 1)]
    return torch.cat(planes, 1) / first.shape[1]


class CostVolumes(torch.nn.Module):
    """The five cost volumes of one forward, as one module."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *maps):
        return [self.fn(maps[2 * i], maps[2 * i + 1]) for i in range(len(maps) // 2)]


def bench_pairs(n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    out = []
    for i in range(n):
        cy, cx = H * rng.uniform(0.4, 0.6), W * rng.uniform(0.4, 0.6)
        mask = ((((yy - cy) / (0.35 * H)) ** 2 + ((xx - cx) / (0.3 * W)) ** 2) < 1).astype(np.uint8) * 255
        out.append((person_image(H, W, seed + 2 * i)[..., ::-1].copy(), person_image(H, W, seed + 2 * i + 1), mask))
    return out


def conv_flops(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return sum(n for op, n in counter.get_flop_counts()["Global"].items() if "convolution" in str(op))


def ov_profile(compiled: ov.CompiledModel, inputs: dict[str, np.ndarray], repeats: int) -> tuple[float, float]:
    """Median wall seconds of one call, and seconds in convolution nodes (profiled, median)."""
    request = compiled.create_infer_request()
    request.infer(inputs)
    walls, convs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        request.infer(inputs)
        walls.append(time.perf_counter() - start)
        convs.append(sum(i.real_time.total_seconds() for i in request.profiling_info if i.node_type in CONV_NODES))
    return statistics.median(walls), statistics.median(convs)


def compile_profiled(xml: Path, threads: int) -> ov.CompiledModel:
    return ov.Core().compile_model(str(xml), "CPU", {"PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": True,
                                                     "INFERENCE_NUM_THREADS": threads})


def row(name: str, batch: int, seconds: float, conv_seconds: float | None, flops: int, peak: float) -> str:
    gflops = "" if conv_seconds is None else f"{flops * batch / conv_seconds / 1e9:.0f}"
    share = "" if conv_seconds is None else f"{100 * flops * batch / conv_seconds / 1e9 / peak:.0f}%"
    return (f"| {name} | {batch} | {seconds:.3f} | {seconds / batch:.3f} | {batch / seconds:.2f} | "
            f"{gflops} | {share} |")


def with_image_io(rt: DMVTONRuntime, folder: Path, pairs, repeats: int) -> float:
    """Seconds per pair: decode three files, run in calls of rt.batch pairs, encode PNGs."""
    files = []
    for i, (person, garment, mask) in enumerate(pairs):
        paths = [folder / f"{i}-{kind}.jpg" for kind in ("person", "garment", "mask")]
        for path, image in zip(paths, (person, garment, mask)):
            Image.fromarray(image).save(path, quality=95)
        files.append(paths)

    def run():
        for start in range(0, len(files), rt.batch):
            chunk = files[start:start + rt.batch]
            loaded = [[np.asarray(Image.open(p).convert(mode)) for p, mode in zip(paths, ("RGB", "RGB", "L"))]
                      for paths in chunk]
            for k, image in enumerate(rt.generate(*zip(*loaded))):
                Image.fromarray(image).save(folder / f"out-{start + k}.png")

    return median_seconds(run, repeats) / len(files)


def fidelity(reference: list[np.ndarray], other: list[np.ndarray]) -> str:
    scores = [ssim(a / 255.0, b / 255.0) for a, b in zip(reference, other)]
    mad = np.mean([np.abs(a.astype(float) - b.astype(float)).mean() for a, b in zip(reference, other)])
    return f"SSIM mean {np.mean(scores):.4f} min {np.min(scores):.4f}, mean |diff| {mad:.2f} levels"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="OpenVINO and torch threads (default 2, one node)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up (median)")
    parser.add_argument("--prune", type=float, default=0.5, help="pruning ratio of the pruned IR")
    parser.add_argument("--calib-size", type=int, default=8, help="calibration pairs of the INT8 IR")
    parser.add_argument("--fidelity-pairs", type=int, default=8)
    parser.add_argument("--no-pfafn", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="fast-tier-"))
    print(f"torch {torch.__version__}, OpenVINO {ov.__version__}, threads {args.threads}, {H}x{W}, work dir {work}")
    peak = sgemm_peak_gflops()
    print(f"sgemm peak (4096^2, before): {peak:.0f} GFLOP/s")

    start = time.perf_counter()
    weights = dm_tiny.write_tiny_weights(work / "dmvton-weights")
    loaded = dm_checkpoint.load_checkpoint(weights)
    irs = {
        "fp32": dm_export.export_ir(loaded, work / "fp32"),
        "fp32-b8": dm_export.export_ir(loaded, work / "fp32-b8", batch=8),
        f"pruned {args.prune}": dm_export.export_ir(loaded, work / "pruned", prune=args.prune),
        "int8": dm_export.export_ir(loaded, work / "int8", calibration=bench_pairs(args.calib_size, seed=100)),
    }
    print(f"DM-VTON: 4 IRs written in {time.perf_counter() - start:.0f} s")

    model = ParserFreeTryOn(loaded.warp, loaded.generator).eval()
    pairs8 = bench_pairs(8, seed=0)
    calls = {b: batched_inputs([pair_inputs(*p, H, W) for p in pairs8[:b]], b, INPUT_NAMES)[0] for b in (1, 8)}
    torch_inputs = {b: tuple(torch.from_numpy(calls[b][n]) for n in INPUT_NAMES) for b in (1, 8)}
    flops = conv_flops(model, torch_inputs[1])
    pruned_flops = conv_flops(ParserFreeTryOn(dm_export.prune_warp(loaded.warp, args.prune)[0], loaded.generator),
                              torch_inputs[1])
    print(f"convolution GFLOP per pair: {flops / 1e9:.1f} (pruned {args.prune}: {pruned_flops / 1e9:.1f})")

    lines = ["| DM-VTON backend | batch | s/call | s/pair | pairs/s | conv GFLOP/s | % sgemm peak |",
             "|---|---|---|---|---|---|---|"]
    timer = StepTimer(appearance_flow, ["correlation"])
    with torch.no_grad():
        eager = {}
        for b, repeats in ((1, args.repeats), (8, 1)):
            eager[b], steps = timer.median_steps(lambda: model(*torch_inputs[b]), repeats)
            lines.append(row("torch eager", b, eager[b], None, flops, peak))
        eager_corr_share = steps["correlation"] / eager[8]
    ov_times = {}
    for name, xml, batch, n_flops in (("OpenVINO fp32", irs["fp32"], 1, flops), ("OpenVINO fp32", irs["fp32-b8"], 8, flops),
                                      ("OpenVINO INT8", irs["int8"], 1, flops),
                                      (f"OpenVINO pruned {args.prune}", irs[f"pruned {args.prune}"], 1, pruned_flops)):
        wall, conv = ov_profile(compile_profiled(xml / "tryon.xml", args.threads), calls[batch], args.repeats)
        ov_times[(name, batch)] = wall
        lines.append(row(name, batch, wall, None if "INT8" in name else conv, n_flops, peak))

    # The correlation alone, at the five pyramid sizes of one forward.
    maps = tuple(torch.randn(1, 256, h, w) for h, w in LEVELS for _ in range(2))
    corr = {}
    for label, fn in (("banded MatMul (used)", correlation), ("shift form", shift_correlation)):
        ov_model = to_openvino(CostVolumes(fn), maps, [f"m{i}" for i in range(len(maps))],
                               [f"c{i}" for i in range(len(LEVELS))])
        compiled = compile_ir(ov_model, threads=args.threads)
        feed = {f"m{i}": m.numpy() for i, m in enumerate(maps)}
        request = compiled.create_infer_request()
        corr[label] = median_seconds(lambda: request.infer(feed), args.repeats)

    rts = {name: DMVTONRuntime(xml, threads=args.threads) for name, xml in irs.items()}
    io = {b: with_image_io(rts["fp32" if b == 1 else "fp32-b8"], Path(tempfile.mkdtemp(dir=work)), pairs8, args.repeats)
          for b in (1, 8)}
    print("\n" + "\n".join(lines))
    fp32 = ov_times[("OpenVINO fp32", 1)]
    print(f"\nOpenVINO fp32 vs torch eager: {eager[1] / fp32:.2f}x at batch 1, "
          f"{eager[8] / ov_times[('OpenVINO fp32', 8)]:.2f}x at batch 8")
    print(f"with image I/O (JPEG in, PNG out), fp32: {io[1]:.3f} s/pair = {1 / io[1]:.2f} pairs/s at batch 1; "
          f"{io[8]:.3f} s/pair = {1 / io[8]:.2f} pairs/s at batch 8")
    print(f"correlation, torch eager: {100 * eager_corr_share:.0f}% of the batch-8 forward")
    for label, seconds in corr.items():
        print(f"correlation in OpenVINO, {label}: {seconds * 1000:.0f} ms per pair = {100 * seconds / fp32:.0f}% "
              f"of the fp32 batch-1 call")

    fid_pairs = bench_pairs(args.fidelity_pairs, seed=200)
    outputs = {name: rts[name].generate(*zip(*fid_pairs)) for name in irs if name != "fp32-b8"}
    print(f"\nfidelity vs fp32 on {len(fid_pairs)} pairs (random weights):")
    for name in (f"pruned {args.prune}", "int8"):
        print(f"  {name}: {fidelity(outputs['fp32'], outputs[name])}")

    if not args.no_pfafn:
        start = time.perf_counter()
        pf_loaded = pf_checkpoint.load_checkpoint(pf_tiny.write_tiny_weights(work / "pfafn-weights"))
        pf_ir = pf_export.export_ir(pf_loaded, work / "pfafn-fp32")
        print(f"\nPF-AFN: IR written in {time.perf_counter() - start:.0f} s")
        pf_model = ParserFreeTryOn(pf_loaded.warp, pf_loaded.generator).eval()
        pf_flops = conv_flops(pf_model, torch_inputs[1])
        with torch.no_grad():
            pf_eager = median_seconds(lambda: pf_model(*torch_inputs[1]), args.repeats)
        wall, conv = ov_profile(compile_profiled(pf_ir / "tryon.xml", args.threads), calls[1], args.repeats)
        print(f"| PF-AFN backend | batch | s/call | s/pair | pairs/s | conv GFLOP/s | % sgemm peak |\n|---|---|---|---|---|---|---|")
        print(row("torch eager", 1, pf_eager, None, pf_flops, peak))
        print(row("OpenVINO fp32", 1, wall, conv, pf_flops, peak))
        print(f"convolution GFLOP per pair: {pf_flops / 1e9:.1f}; OpenVINO fp32 vs torch eager: {pf_eager / wall:.2f}x")
        PFAFNRuntime(pf_ir, threads=args.threads)(*fid_pairs[0])
    print(f"\nsgemm peak (after): {sgemm_peak_gflops():.0f} GFLOP/s")


if __name__ == "__main__":
    main()
