"""`vtonpipe demo`: a synthetic VITON-HD-style dataset through the whole pipeline with tiny models.

Everything a user with real data does, on data and weights made here: tiny presets are written in
the official checkpoint layouts and converted to IR by the same code as real weights, the dataset
is ingested, every stage runs on a local Ray, and the results are evaluated. Reruns reuse what is
already there and resume the stages.
"""

from __future__ import annotations

import time
from pathlib import Path

from vtonpipe.config import Config
from vtonpipe.models.common.ir import MODEL_JSON

DEMO_PERSONS, DEMO_GARMENTS = 8, 6
DEMO_HEIGHT, DEMO_WIDTH = 256, 192

# IR name -> (family, tiny-preset keyword arguments, stage, stage option that points at the IR)
DEMO_MODELS = {
    "densepose": ("densepose", {}, "densepose", "ir"),
    "schp-lip": ("schp", {"dataset": "lip"}, "parse", "ir_lip"),
    "schp-atr": ("schp", {"dataset": "atr"}, "parse", "ir_atr"),
    "catvton": ("catvton", {"height": 128, "width": 96}, "tryon", "ir"),
    "inception": ("inception", {}, "evaluate", "inception_ir"),
    "lpips": ("lpips", {}, "evaluate", "lpips_ir"),
}


def build_demo_models(models_dir: Path) -> dict[str, dict[str, str]]:
    """Tiny IRs for every demo model (kept across reruns); returns stage -> {option: IR folder}."""
    from vtonpipe.models.families import family_module

    options: dict[str, dict[str, str]] = {}
    for name, (family, kwargs, stage, option) in DEMO_MODELS.items():
        ir = models_dir / name / "ir"
        if not (ir / MODEL_JSON).is_file():
            start = time.perf_counter()
            ir = Path(family_module(family, "tiny").build_tiny_ir(models_dir / name, seed=0, **kwargs))
            print(f"  tiny {name:<10} -> {ir}  ({time.perf_counter() - start:.1f} s)")
        options.setdefault(stage, {})[option] = str(ir)
    return options


def run_demo(out: str | Path, *, progress: bool = True) -> None:
    from vtonpipe.cli import run_stages
    from vtonpipe.datasets import layouts
    from vtonpipe.datasets.ingest import ingest
    from vtonpipe.datasets.synthetic import write_synthetic_vitonhd
    from vtonpipe.manifests.io import part_files
    from vtonpipe.stages import available_stages

    out = Path(out)
    started = time.perf_counter()
    dataset = out / "dataset"
    if not (dataset / "test" / "image").is_dir():
        write_synthetic_vitonhd(dataset, DEMO_PERSONS, DEMO_GARMENTS, DEMO_HEIGHT, DEMO_WIDTH, seed=0)
    print(f"1/4 synthetic VITON-HD dataset: {dataset} ({DEMO_PERSONS} persons, {DEMO_GARMENTS} garments)")

    print("2/4 tiny models (official file layouts, converted to OpenVINO IR):")
    options = build_demo_models(out / "models")

    if not part_files(out, "persons"):
        ingest(layouts.scan_vitonhd(dataset, ("test",)), out, progress=progress)
    print(f"3/4 ingested into {out / 'manifests'}")

    print("4/4 stages on local Ray:")
    stages = {name: opts for name, opts in options.items() if name != "evaluate"}
    cfg = Config(out=str(out), models_dir=str(out / "models"), stages={
        # repaint pastes the person back outside the mask, so the tiny model's noise shows only where
        # the garment goes
        **stages, "tryon": {**stages.get("tryon", {}), "steps": 4, "seed": 0, "repaint": True}})
    run_stages(cfg, available_stages(), progress=progress, command="demo")

    reports = evaluate_demo(out, dataset, options.get("evaluate", {}))
    print(f"\ndone in {time.perf_counter() - started:.0f} s (tiny random-weight models: the numbers only show "
          "that every step ran). Look at:")
    print(f"  manifests        {out / 'manifests'}   (pandas.read_parquet on any folder)")
    print(f"  preprocessed     {out / 'test'}   (image-densepose, image-parse-*, agnostic-mask, cloth-mask ...)")
    print(f"  try-on renders   {out / 'results' / 'catvton'}")
    for mode, (report, metrics) in reports.items():
        shown = "  ".join(f"{k}={v:.4g}" for k, v in metrics.items())
        print(f"  {mode + ' eval':<16} {report}   {shown}")


def evaluate_demo(out: Path, dataset: Path, options: dict[str, str]) -> dict[str, tuple[Path, dict]]:
    """Evaluate the paired and unpaired renders against the person images."""
    from vtonpipe.manifests.io import read_manifest
    from vtonpipe.stages.evaluate import pair_images, run_evaluation

    images_for = pair_images(read_manifest(out, "pairs").to_pylist(), out)
    written = {}
    for mode in ("paired", "unpaired"):
        results = out / "results" / "catvton" / mode
        if not results.is_dir():
            continue
        subdir = "eval" if mode == "paired" else "eval/unpaired"
        summary = run_evaluation(results, dataset / "test" / "image", out, paired=(mode == "paired"),
                                 inception_ir=options["inception_ir"], lpips_ir=options.get("lpips_ir"),
                                 images_for=images_for, eval_subdir=subdir)
        written[mode] = (out / subdir / "report.html", summary["metrics"])
    return written
