"""Helpers shared by the bench scripts: median wall time, sgemm peak, FLOPs, RSS, OpenVINO fp32
compile config, relative L2, the backend comparison table, per-step timing and a test image."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sgemm_peak_gflops(n: int = 4096, repeats: int = 3) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / median_seconds(lambda: torch.mm(a, b), repeats) / 1e9


def forward_flops(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> int:
    """FLOPs of one forward as torch.utils.flop_counter counts them (matmuls and convolutions)."""
    # The math SDPA backend exposes attention as bmm, which the flop counter sees.
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops()


def ov_fp32_config(threads: int | None) -> dict[str, object]:
    """OpenVINO CPU config for a latency run that stays in fp32 (no bf16 on CPUs that have it)."""
    config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    return config


def person_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint8 BGR test image: smooth shapes plus noise (content does not change the cost)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 127 + 60 * np.sin(xx / 37.0)[..., None] * np.cos(yy / 53.0)[..., None] * np.array([1.0, 0.7, 0.4])
    return np.clip(base + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)


def relative_l2(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(got - expected) / np.linalg.norm(expected))


def print_backend_table(rows: Sequence[tuple[str, float, float]], flops: int, peak_gflops: float,
                        unit: str = "step") -> None:
    """Markdown table of (backend, seconds, peak RSS GiB) rows; speed-ups are against the first row."""
    reference = rows[0][1]
    print(f"\n| backend | {unit} s | x {rows[0][0]} | GFLOP/s | % sgemm peak | peak RSS GiB |")
    print("|---|---|---|---|---|---|")
    for name, seconds, rss in rows:
        gflops = flops / seconds / 1e9
        print(f"| {name} | {seconds:.3f} | {reference / seconds:.2f} | {gflops:.1f} | "
              f"{100 * gflops / peak_gflops:.0f}% | {rss:.2f} |")


class StepTimer:
    """Wraps named methods of one object so that each call adds its wall time to ``spent[name]``.

    Instance attributes shadow the class's methods, so calls the object makes to itself (the
    runtime's ``__call__`` calling ``self.backbone``) are timed too; nested steps count in both.
    On a module, the functions other modules reach as ``module.name`` are timed.
    """

    def __init__(self, obj: object, names: Sequence[str]):
        self.spent = dict.fromkeys(names, 0.0)
        for name in names:
            setattr(obj, name, self._wrap(name, getattr(obj, name)))

    def _wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - start

        return timed

    def reset(self) -> None:
        self.spent = dict.fromkeys(self.spent, 0.0)

    def median_steps(self, fn: Callable[[], object], repeats: int) -> tuple[float, dict[str, float]]:
        """Median seconds of ``fn()`` and of each wrapped step within it, after one warm-up call."""
        fn()
        calls, steps = [], {name: [] for name in self.spent}
        for _ in range(repeats):
            self.reset()
            start = time.perf_counter()
            fn()
            calls.append(time.perf_counter() - start)
            for name, seconds in self.spent.items():
                steps[name].append(seconds)
        return statistics.median(calls), {name: statistics.median(v) for name, v in steps.items()}
