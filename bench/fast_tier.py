"""The fast parser-free tier on full-size random weights at 256x192, in one run: torch eager vs
OpenVINO fp32 vs INT8 vs pruned DM-VTON (and PF-AFN fp32), plus pruned/INT8 fidelity.

    python bench/fast_tier.py                    # DM-VTON, about 10 minutes on a busy 2-core box
    python bench/fast_tier.py --pfafn            # and PF-AFN fp32 vs torch eager

Every IR is written by the project's export code from the tiny preset's weights (full size,
seeded, well conditioned). Backends are timed in interleaved rounds (median over rounds), so a
shared machine's load falls on all of them alike; torch eager at batch 8 runs once. Reported per
backend and batch size: seconds per call, per pair and pairs/s (batch 8 fills one static batch-8
IR call). GFLOP/s counts convolutions only
(torch.utils.flop_counter, 2 FLOP per multiply-add) against the time OpenVINO's per-layer
profile spends in convolution nodes, compared with a 4096^2 sgemm timed in the same rounds.
The correlation's share: the five cost volumes of one forward, timed alone (in torch eager
inside the forward; in OpenVINO as their own IR), over the forward's time; the slice/multiply/
reduce "shift form" is timed alongside for comparison. "with image I/O" runs DMVTONRuntime on
JPEG files decoded with PIL and writes PNG results. Fidelity compares pruned and INT8 outputs
with fp32 on the same pairs (per-pair SSIM, mean absolute uint8 difference); on random weights
it bounds nothing about real checkpoints. Cost does not depend on weight values.
"""

from __future__ import annotations

import argparse
import functools
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

from bench.timing import StepTimer, median_seconds, person_image  # noqa: E402
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


def profiled_call(compiled: ov.CompiledModel, inputs: dict[str, np.ndarray]):
    """A call that returns the seconds OpenVINO's profile spent in convolution nodes."""
    request = compiled.create_infer_request()

    def call() -> float:
        request.infer(inputs)
        return sum(i.real_time.total_seconds() for i in request.profiling_info if i.node_type in CONV_NODES)

    return call


def interleaved(calls: dict[str, callable], rounds: int) -> dict[str, tuple[float, float | None]]:
    """Median wall seconds of each call (and of what it returns, if anything) over `rounds` rounds
    that run every call once, after one warm-up round."""
    for call in calls.values():
        call()
    walls = {name: [] for name in calls}
    values = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            value = call()
            walls[name].append(time.perf_counter() - start)
            values[name].append(value)
    return {name: (statistics.median(walls[name]),
                   statistics.median(values[name]) if isinstance(values[name][0], float) else None)
            for name in calls}


def sgemm_call(n: int = 4096):
    a, b = torch.randn(n, n), torch.randn(n, n)

    def call() -> None:
        torch.mm(a, b)

    return call


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
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds after one warm-up round (median)")
    parser.add_argument("--prune", type=float, default=0.5, help="pruning ratio of the pruned IR")
    parser.add_argument("--calib-size", type=int, default=8, help="calibration pairs of the INT8 IR")
    parser.add_argument("--fidelity-pairs", type=int, default=8)
    parser.add_argument("--pfafn", action="store_true", help="also PF-AFN fp32 vs torch eager at batch 1")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="fast-tier-"))
    print(f"torch {torch.__version__}, OpenVINO {ov.__version__}, threads {args.threads}, {H}x{W}, work dir {work}")

    start = time.perf_counter()
    loaded = dm_checkpoint.load_checkpoint(dm_tiny.write_tiny_weights(work / "dmvton-weights"))
    pruned = f"pruned {args.prune}"
    irs = {
        "fp32": dm_export.export_ir(loaded, work / "fp32", height=H, width=W),
        "fp32 b8": dm_export.export_ir(loaded, work / "fp32-b8", height=H, width=W, batch=8),
        pruned: dm_export.export_ir(loaded, work / "pruned", height=H, width=W, prune=args.prune),
        "int8": dm_export.export_ir(loaded, work / "int8", height=H, width=W,
                                    calibration=bench_pairs(args.calib_size, seed=100)),
    }
    print(f"DM-VTON: {len(irs)} IRs written in {time.perf_counter() - start:.0f} s")

    model = ParserFreeTryOn(loaded.warp, loaded.generator).eval()
    pairs8 = bench_pairs(8, seed=0)
    feeds = {b: batched_inputs([pair_inputs(*p, H, W) for p in pairs8[:b]], b, INPUT_NAMES)[0] for b in (1, 8)}
    tensors = {b: tuple(torch.from_numpy(feeds[b][n]) for n in INPUT_NAMES) for b in (1, 8)}
    flops = conv_flops(model, tensors[1])
    pruned_flops = conv_flops(ParserFreeTryOn(dm_export.prune_warp(loaded.warp, args.prune)[0], loaded.generator),
                              tensors[1])
    print(f"convolution GFLOP per pair: {flops / 1e9:.1f} ({pruned}: {pruned_flops / 1e9:.1f})")

    maps = tuple(torch.randn(1, 256, h, w) for h, w in LEVELS for _ in range(2))
    corr_feed = {f"m{i}": m.numpy() for i, m in enumerate(maps)}
    corr_calls = {}
    for label, fn in (("correlation, banded MatMul (used)", correlation), ("correlation, shift form", shift_correlation)):
        ov_model = to_openvino(CostVolumes(fn), maps, list(corr_feed), [f"c{i}" for i in range(len(LEVELS))])
        corr_calls[label] = functools.partial(compile_ir(ov_model, threads=args.threads).create_infer_request().infer,
                                              corr_feed)
    timer = StepTimer(appearance_flow, ["correlation"])
    eager_corr = []

    def eager_b1():
        timer.reset()
        with torch.no_grad():
            model(*tensors[1])
        eager_corr.append(timer.spent["correlation"])

    calls = {"torch eager": eager_b1, "sgemm": sgemm_call()}
    for name, batch in (("fp32", 1), ("fp32 b8", 8), ("int8", 1), (pruned, 1)):
        calls[name] = profiled_call(compile_profiled(irs[name] / "tryon.xml", args.threads), feeds[batch])
    calls.update(corr_calls)
    times = interleaved(calls, args.rounds)
    with torch.no_grad():
        eager_b8 = median_seconds(lambda: model(*tensors[8]), 1)
    peak = 2 * 4096 ** 3 / times["sgemm"][0] / 1e9

    rts = {name: DMVTONRuntime(xml, threads=args.threads) for name, xml in irs.items()}
    io = {b: with_image_io(rts["fp32" if b == 1 else "fp32 b8"], Path(tempfile.mkdtemp(dir=work)), pairs8, 1)
          for b in (1, 8)}
    fid_pairs = bench_pairs(args.fidelity_pairs, seed=200)
    outputs = {name: rts[name].generate(*zip(*fid_pairs)) for name in ("fp32", pruned, "int8")}

    print(f"\nsgemm 4096^2 in the same rounds: {peak:.0f} GFLOP/s (the peak the % column refers to)")
    print("| DM-VTON backend | batch | s/call | s/pair | pairs/s | conv GFLOP/s | % sgemm peak |")
    print("|---|---|---|---|---|---|---|")
    print(row("torch eager", 1, times["torch eager"][0], None, flops, peak))
    print(row("torch eager (1 run)", 8, eager_b8, None, flops, peak))
    for name, label, batch, n_flops in (("fp32", "OpenVINO fp32", 1, flops), ("fp32 b8", "OpenVINO fp32", 8, flops),
                                        ("int8", "OpenVINO INT8", 1, flops), (pruned, f"OpenVINO {pruned}", 1, pruned_flops)):
        wall, conv = times[name]
        print(row(label, batch, wall, None if name == "int8" else conv, n_flops, peak))
    fp32 = times["fp32"][0]
    print(f"\nOpenVINO fp32 vs torch eager: {times['torch eager'][0] / fp32:.2f}x at batch 1, "
          f"{eager_b8 / times['fp32 b8'][0]:.2f}x at batch 8")
    print(f"with image I/O (JPEG in, PNG out), fp32: {io[1]:.3f} s/pair = {1 / io[1]:.2f} pairs/s at batch 1; "
          f"{io[8]:.3f} s/pair = {1 / io[8]:.2f} pairs/s at batch 8")
    print(f"correlation in torch eager: {100 * statistics.median(eager_corr) / times['torch eager'][0]:.0f}% "
          "of the batch-1 forward")
    for label in corr_calls:
        seconds = times[label][0]
        print(f"{label} in OpenVINO, alone: {seconds * 1000:.0f} ms per pair = {100 * seconds / fp32:.0f}% "
              "of the fp32 batch-1 call")
    print(f"\nfidelity vs fp32 on {len(fid_pairs)} pairs (random weights):")
    for name in (pruned, "int8"):
        print(f"  {name}: {fidelity(outputs['fp32'], outputs[name])}")

    if args.pfafn:
        start = time.perf_counter()
        pf_loaded = pf_checkpoint.load_checkpoint(pf_tiny.write_tiny_weights(work / "pfafn-weights"))
        pf_ir = pf_export.export_ir(pf_loaded, work / "pfafn-fp32", height=H, width=W)
        print(f"\nPF-AFN: IR written in {time.perf_counter() - start:.0f} s")
        pf_model = ParserFreeTryOn(pf_loaded.warp, pf_loaded.generator).eval()
        pf_flops = conv_flops(pf_model, tensors[1])

        def pf_eager():
            with torch.no_grad():
                pf_model(*tensors[1])

        pf_times = interleaved({"torch eager": pf_eager, "sgemm": sgemm_call(), "fp32": profiled_call(
            compile_profiled(pf_ir / "tryon.xml", args.threads), feeds[1])}, args.rounds)
        pf_peak = 2 * 4096 ** 3 / pf_times["sgemm"][0] / 1e9
        print(f"sgemm 4096^2 in the same rounds: {pf_peak:.0f} GFLOP/s")
        print("| PF-AFN backend | batch | s/call | s/pair | pairs/s | conv GFLOP/s | % sgemm peak |\n|---|---|---|---|---|---|---|")
        print(row("torch eager", 1, pf_times["torch eager"][0], None, pf_flops, pf_peak))
        print(row("OpenVINO fp32", 1, *pf_times["fp32"], pf_flops, pf_peak))
        print(f"convolution GFLOP per pair: {pf_flops / 1e9:.1f}; OpenVINO fp32 vs torch eager: "
              f"{pf_times['torch eager'][0] / pf_times['fp32'][0]:.2f}x")


if __name__ == "__main__":
    main()
