"""`vtonpipe evaluate`: resolve folders from the flags (and --config), run the evaluation or the
comparison, print the metrics, the warnings' count and where the summary and report are."""

from __future__ import annotations

import argparse
import os
from typing import Any

from vtonpipe.config import load_config
from vtonpipe.errors import ConfigError


def evaluate_from_args(args: argparse.Namespace) -> dict[str, Any]:
    from vtonpipe.eval.evaluation import metrics_line, run_comparison, run_evaluation
    from vtonpipe.eval.folders import default_out

    if args.against and (args.gt or args.paired):
        raise ConfigError("--against compares two results folders file by file: leave out --gt and --paired")
    if not args.against and not args.gt:
        raise ConfigError("evaluate needs --gt DIR (the person images of the results' split, e.g. "
                          "DATASET/test/image) or --against DIR (results of the same pairs to compare with)")
    out = os.path.abspath(args.out) if args.out else str(default_out(args.results))
    cfg = load_config(args.config, {"out": out, "models_dir": args.models_dir, "cache_dir": args.cache_dir,
                                    "threads": args.threads})
    models_dir = cfg.resolved_models_dir()
    options = {
        "inception_ir": args.inception_ir or os.path.join(models_dir, "inception"),
        "lpips_ir": args.lpips_ir or os.path.join(models_dir, "lpips"),
        "device": args.device, "threads": cfg.threads or None, "cache_dir": cfg.resolved_cache_dir(),
        "stats_cache_dir": args.stats_cache, "sample_size": args.sample, "seed": args.seed,
        "progress": not args.no_progress,
    }
    if args.against:
        summary = run_comparison(args.results, args.against, out, **options)
    else:
        summary = run_evaluation(args.results, args.gt, out, paired=args.paired, **options)
    print(metrics_line(summary))
    if summary["warnings"]:
        print(f"{len(summary['warnings'])} warning(s): see above, and in the report")
    print(f"summary: {os.path.join(summary['eval_dir'], 'summary.json')}")
    print(f"report: {summary['report']}")
    return summary
