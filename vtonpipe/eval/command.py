"""`vtonpipe evaluate`: resolve folders from the flags (and --config), run the evaluation, print
the metrics and where the report is."""

from __future__ import annotations

import argparse
import os
from typing import Any

from vtonpipe.config import load_config


def evaluate_from_args(args: argparse.Namespace) -> dict[str, Any]:
    from vtonpipe.eval.evaluation import pair_images, run_evaluation
    from vtonpipe.manifests.io import read_manifest

    out = os.path.abspath(args.out or args.results)
    cfg = load_config(args.config, {"out": out, "models_dir": args.models_dir, "cache_dir": args.cache_dir,
                                    "threads": args.threads})
    models_dir = cfg.resolved_models_dir()
    # With a pipeline output folder, the report's contact sheet shows person, garment and mask too.
    pairs = read_manifest(out, "pairs")
    summary = run_evaluation(
        args.results, args.gt, out, paired=args.paired,
        inception_ir=args.inception_ir or os.path.join(models_dir, "inception"),
        lpips_ir=args.lpips_ir or os.path.join(models_dir, "lpips"),
        device=args.device, threads=cfg.threads or None, cache_dir=cfg.resolved_cache_dir(),
        stats_cache_dir=args.stats_cache, images_for=pair_images(pairs.to_pylist(), out) if pairs is not None else None,
        sample_size=args.sample, seed=args.seed,
    )
    shown = "  ".join(f"{k}={v:.4g}" for k, v in summary["metrics"].items() if v is not None)
    print(f"{summary['mode']}: {shown}")
    print(f"report: {summary['report']}")
    return summary
