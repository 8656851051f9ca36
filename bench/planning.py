"""Planning at catalog scale: plan time and driver peak RSS for 1M and 10M pairs, and (--tryon)
the time until `vtonpipe tryon` with the tiny CatVTON writes its first row.

    .venv/bin/python bench/planning.py                      # 1M and 10M pairs, planning only
    .venv/bin/python bench/planning.py --sizes 90000 --tryon

A catalog of n persons x n garments (n = ceil(sqrt(pairs))) is ingested like a real one (tiny
images, pairs written in 100k-row chunks); the masks manifest is filled in by hand so every pair
is due. Each measurement runs in a fresh process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vtonpipe.datasets import layouts  # noqa: E402
from vtonpipe.datasets.ingest import ingest  # noqa: E402
from vtonpipe.manifests.io import new_run_id, part_files, read_manifest, write_part  # noqa: E402
from vtonpipe.manifests.layout import agnostic_mask_path, tryon_manifest  # noqa: E402

H, W = 64, 48


def build_catalog(folder: Path, pairs: int) -> Path:
    """An ingested catalog of about `pairs` pairs with an ok masks manifest; returns the output folder."""
    out = folder / "out"
    if part_files(out, "pairs"):
        return out
    n = math.ceil(math.sqrt(pairs))
    rng = np.random.default_rng(0)
    for kind in ("persons", "garments"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
        for i in range(n):
            image.save(folder / kind / f"{kind[0]}{i:06d}.png")
    start = time.perf_counter()
    ingest(layouts.scan_catalog(folder / "persons", folder / "garments", "upper"), out, progress=False)
    print(f"  ingested {n} x {n} = {n * n} pairs in {time.perf_counter() - start:.0f} s")
    persons = read_manifest(out, "persons")
    mask = np.zeros((H, W), np.uint8)
    mask[H // 4: 3 * H // 4, W // 4: 3 * W // 4] = 255
    for stem in persons["stem"].to_pylist():
        path = out / agnostic_mask_path("catalog", stem)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(path)
    now = datetime.now(timezone.utc)
    write_part(out, "masks", pa.table({
        "person_id": persons["person_id"], "status": pa.array(["ok"] * persons.num_rows),
        "created_at": pa.array([now] * persons.num_rows, pa.timestamp("us", tz="UTC")),
    }), new_run_id(), 0)
    return out


PLAN = """
import json, resource, sys, time
from vtonpipe.pipeline.plan import plan_stage
from vtonpipe.stages import make_stage
out, ir = sys.argv[1], sys.argv[2]
start = time.perf_counter()
stage = make_stage("tryon", out, model_ir=ir)
stage.check()
plan = plan_stage(stage, out)
seconds = time.perf_counter() - start
print(json.dumps({"todo": plan.todo, "seconds": seconds,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure_plan(out: Path, ir: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", PLAN, str(out), str(ir)], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(result.stdout.strip().splitlines()[-1])


def _hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_first_row(out: Path, ir: Path, timeout: float = 900.0) -> dict:
    """`vtonpipe tryon --steps 1` until its first manifest part appears; then Ctrl-C."""
    before = set(part_files(out, tryon_manifest("catvton")))
    cmd = [sys.executable, "-m", "vtonpipe.cli", "tryon", "--out", str(out), "--model-ir", str(ir), "--steps", "1",
           "--no-progress"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    first = None
    hwm = 0.0
    try:
        while time.perf_counter() - start < timeout and proc.poll() is None:
            hwm = max(hwm, _hwm_mib(proc.pid))
            if set(part_files(out, tryon_manifest("catvton"))) - before:
                first = time.perf_counter() - start
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # the run records what it did and exits 130
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
    if first is None:
        print(f"  tryon wrote no row (exit {proc.returncode}): {proc.stderr.read()[-2000:]}")
    return {"first_row_s": first, "driver_peak_rss_mib": hwm, "exit": proc.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--tryon", action="store_true", help="also time `vtonpipe tryon` to its first row")
    parser.add_argument("--root", default="/tmp/vtonpipe-bench-planning")
    args = parser.parse_args()
    root = Path(args.root)
    ir = root / "catvton-tiny"
    if not (ir / "model.json").is_file():
        from vtonpipe.models.catvton.tiny import build_tiny_ir

        build_tiny_ir(ir, seed=0, height=64, width=48)
    print(f"{'pairs':>10} {'plan s':>8} {'plan peak RSS MiB':>18} {'first row s':>12} {'driver peak RSS MiB':>20}")
    for size in args.sizes:
        out = build_catalog(root / str(size), size)
        plan = measure_plan(out, ir)
        line = f"{plan['todo']:>10} {plan['seconds']:>8.1f} {plan['peak_rss_mib']:>18.0f}"
        if args.tryon:
            run = measure_first_row(out, ir)
            first = "n/a" if run["first_row_s"] is None else f"{run['first_row_s']:.1f}"
            line += f" {first:>12} {run['driver_peak_rss_mib']:>20.0f}"
        print(line, flush=True)
    print(f"(this machine: {os.cpu_count()} CPUs; peak RSS from getrusage / VmHWM)")


if __name__ == "__main__":
    main()
