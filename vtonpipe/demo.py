"""`vtonpipe demo`: a synthetic VITON-HD-style dataset through the whole pipeline with tiny models.

Everything a user with real data does, on data and weights made here: tiny presets are written in
the official checkpoint layouts and converted to IR by the same code as real weights (into the
folders the stages read by default, <out>/models/<name>), the dataset is ingested, every stage
runs on a local Ray, and the results are evaluated. Reruns reuse what is already there and resume.
"""

from __future__ import annotations

import time
from pathlib import Path

from vtonpipe.config import Config

DEMO_PERSONS, DEMO_GARMENTS = 8, 6
DEMO_HEIGHT, DEMO_WIDTH = 256, 192

# IR folder name under <out>/models (the stages' default) -> (family, tiny-preset options)
DEMO_MODELS = {
    "densepose": ("densepose", {}),
    "schp-lip": ("schp", {"dataset": "lip"}),
    "schp-atr": ("schp", {"dataset": "atr"}),
    "catvton": ("catvton", {"height": 128, "width": 96}),
    "inception": ("inception", {}),
    "lpips": ("lpips", {}),
}


def build_demo_models(models_dir: Path) -> None:
    """Tiny IR folders for every demo model under `models_dir` (kept across reruns)."""
    from vtonpipe.models.common.ir import MODEL_JSON
    from vtonpipe.models.families import family_module

    for name, (family, kwargs) in DEMO_MODELS.items():
        ir = models_dir / name
        if not (ir / MODEL_JSON).is_file():
            start = time.perf_counter()
            family_module(family, "tiny").build_tiny_ir(ir, seed=0, **kwargs)
            print(f"  tiny {name:<10} -> {ir}  ({time.perf_counter() - start:.1f} s)")


def demo_config(out: Path) -> Config:
    # repaint pastes the person back outside the mask, so the tiny model's noise shows only where
    # the garment goes
    return Config(out=str(out), stages={"tryon": {"steps": 4, "repaint": True}})


def run_demo(out: str | Path, *, progress: bool = True) -> int:
    """The whole demo; returns the command's exit status."""
    from vtonpipe.datasets import layouts
    from vtonpipe.datasets.ingest import ingest
    from vtonpipe.datasets.synthetic import write_synthetic_vitonhd
    from vtonpipe.manifests.io import part_files
    from vtonpipe.pipeline.run import run_stages
    from vtonpipe.stages import default_chain

    out = Path(out).absolute()
    started = time.perf_counter()
    dataset = out / "dataset"
    if not (dataset / "test" / "image").is_dir():
        write_synthetic_vitonhd(dataset, DEMO_PERSONS, DEMO_GARMENTS, DEMO_HEIGHT, DEMO_WIDTH, seed=0)
    print(f"1/4 synthetic VITON-HD dataset: {dataset} ({DEMO_PERSONS} persons, {DEMO_GARMENTS} garments)")

    print(f"2/4 tiny models (official file layouts, converted to OpenVINO IR) in {out / 'models'}:")
    build_demo_models(out / "models")

    if not part_files(out, "persons"):
        ingest(layouts.scan_vitonhd(dataset, ("test",)), out, progress=progress)
    print(f"3/4 ingested into {out / 'manifests'}")

    print("4/4 stages on local Ray:")
    cfg = demo_config(out)
    # The dataset ships parse and DensePose maps, which `run` would use instead of the models;
    # the demo runs every model on every person anyway, to show each of them at work.
    summaries = run_stages(cfg, default_chain(cfg), progress=progress, command="demo", skip_unneeded=False)

    reports = evaluate_demo(out, dataset, progress=progress)
    print(f"\ndone in {time.perf_counter() - started:.0f} s (tiny random-weight models: the numbers only show "
          "that every step ran). Look at:")
    print(f"  manifests        {out / 'manifests'}   (pandas.read_parquet on any folder)")
    print(f"  preprocessed     {out / 'test'}   (image-densepose, image-parse-*, agnostic-mask, cloth-mask ...)")
    print(f"  try-on renders   {out / 'results' / 'catvton' / 'test'}")
    for mode, (report, line) in reports.items():
        print(f"  {mode + ' eval':<16} {report}   {line}")
    return 1 if any(s.all_failed for s in summaries) else 0


def evaluate_demo(out: Path, dataset: Path, *, progress: bool = True) -> dict[str, tuple[Path, str]]:
    """Evaluate the paired and unpaired test renders against the test person images; per mode,
    the report path and the metrics line."""
    from vtonpipe.eval.evaluation import metrics_line, run_evaluation

    written = {}
    for mode in ("paired", "unpaired"):
        results = out / "results" / "catvton" / "test" / mode
        if not results.is_dir():
            continue
        summary = run_evaluation(results, dataset / "test" / "image", out, inception_ir=out / "models" / "inception",
                                 lpips_ir=out / "models" / "lpips", progress=progress)
        written[mode] = (Path(summary["report"]), metrics_line(summary))
    return written
