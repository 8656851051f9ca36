"""`vtonpipe demo`: a synthetic VITON-HD-style dataset through the whole pipeline with tiny models.

Everything a user with real data does, on data and weights made here: tiny presets are written in
the official checkpoint layouts and converted to IR by the same code as real weights (into the
folders the stages read by default, <out>/models/<name>), the dataset is ingested, every stage
runs on a local Ray, all four try-on models render every pair, and each model's renders are
evaluated. Reruns reuse what is already there and resume.
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
    "openpose": ("openpose", {}),
    "catvton": ("catvton", {"height": 128, "width": 96}),
    # StableVITON cannot run 256x192 (an 8x6 warped level): its smallest 4:3 size.
    "stableviton": ("stableviton", {"height": 512, "width": 384}),
    "dmvton": ("dmvton", {}),
    "pfafn": ("pfafn", {}),
    "inception": ("inception", {}),
    "lpips": ("lpips", {}),
}
TRYON_MODELS = ("catvton", "stableviton", "dmvton", "pfafn")
# The preprocessing stages, with the HR-VITON recipe: what StableVITON was trained on (CatVTON
# renders from the same masks, as its own VITON-HD evaluation does).
PREPROCESS = ["densepose", "parse", "pose", "masks", "cloth-mask"]
DIFFUSION_OPTIONS = {"steps": 4, "repaint": True}  # repaint: the tiny model's noise shows only in the mask


def build_demo_models(models_dir: Path) -> None:
    """Tiny IR folders for every demo model under `models_dir` (kept across reruns)."""
    from vtonpipe.models.common.ir import MODEL_JSON
    from vtonpipe.models.families import family_module

    for name, (family, kwargs) in DEMO_MODELS.items():
        ir = models_dir / name
        if not (ir / MODEL_JSON).is_file():
            start = time.perf_counter()
            family_module(family, "tiny").build_tiny_ir(ir, seed=0, **kwargs)
            print(f"  tiny {name:<12} -> {ir}  ({time.perf_counter() - start:.1f} s)")


def demo_config(out: Path, model: str = "catvton") -> Config:
    tryon = {"model": model, **(DIFFUSION_OPTIONS if model in ("catvton", "stableviton") else {})}
    return Config(out=str(out), stages={"masks": {"recipe": "hrviton"}, "tryon": tryon})


def run_demo(out: str | Path, *, progress: bool = True) -> int:
    """The whole demo; returns the command's exit status."""
    from vtonpipe.datasets import layouts
    from vtonpipe.datasets.ingest import ingest
    from vtonpipe.datasets.synthetic import write_synthetic_vitonhd
    from vtonpipe.demo_sheet import write_recipe_sheet
    from vtonpipe.manifests.io import part_files
    from vtonpipe.pipeline.run import run_stages

    out = Path(out).absolute()
    started = time.perf_counter()
    dataset = out / "dataset"
    if not (dataset / "test" / "image").is_dir():
        write_synthetic_vitonhd(dataset, DEMO_PERSONS, DEMO_GARMENTS, DEMO_HEIGHT, DEMO_WIDTH, seed=0)
    print(f"1/5 synthetic VITON-HD dataset: {dataset} ({DEMO_PERSONS} persons, {DEMO_GARMENTS} garments)")

    print(f"2/5 tiny models (official file layouts, converted to OpenVINO IR) in {out / 'models'}:")
    build_demo_models(out / "models")

    if not part_files(out, "persons"):
        ingest(layouts.scan_vitonhd(dataset, ("test",)), out, progress=progress)
    print(f"3/5 ingested into {out / 'manifests'}")

    print("4/5 stages on local Ray: preprocessing, then each try-on model")
    # The dataset ships parse and DensePose maps, which `run` would use instead of the models;
    # the demo runs every model on every person anyway, to show each of them at work.
    summaries = run_stages(demo_config(out), PREPROCESS, progress=progress, command="demo", skip_unneeded=False)
    for model in TRYON_MODELS:
        summaries += run_stages(demo_config(out, model), ["tryon"], progress=progress, command=f"demo tryon {model}")
    sheet = write_recipe_sheet(out, dataset)

    print("5/5 evaluation of every model's renders")
    reports = evaluate_demo(out, dataset, progress=progress)
    print(f"\ndone in {time.perf_counter() - started:.0f} s (tiny random-weight models: the numbers only show "
          "that every step ran). Look at:")
    print(f"  manifests        {out / 'manifests'}   (pandas.read_parquet on any folder)")
    print(f"  preprocessed     {out / 'test'}   (image-densepose, image-parse-*, openpose_*, agnostic-*, cloth-mask)")
    print(f"  recipes          {sheet}   (skeleton, HR-VITON agnostic beside CatVTON's)")
    print(f"  try-on renders   {out / 'results'}/<model>/test/<mode>")
    for (model, mode), (report, line) in reports.items():
        print(f"  {model:<12} {mode:<9} {report}\n{'':<25}{line}")
    return 1 if any(s.all_failed for s in summaries) else 0


def evaluate_demo(out: Path, dataset: Path, *, progress: bool = True) -> dict[tuple[str, str], tuple[Path, str]]:
    """Evaluate every model's paired and unpaired renders against the test person images; per
    (model, mode), the report path and the metrics line."""
    from vtonpipe.eval.evaluation import metrics_line, run_evaluation

    written = {}
    for model in TRYON_MODELS:
        for mode in ("paired", "unpaired"):
            results = out / "results" / model / "test" / mode
            if not results.is_dir():
                continue
            summary = run_evaluation(results, dataset / "test" / "image", out, inception_ir=out / "models" / "inception",
                                     lpips_ir=out / "models" / "lpips", progress=progress)
            written[(model, mode)] = (Path(summary["report"]), metrics_line(summary))
    return written
