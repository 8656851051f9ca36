"""Running an evaluation: results against ground-truth persons, or against another results folder.

    checks (one split and mode, GT of the same persons)      refuse early, or warn
    listing: one row per result + the file it is compared with -> <eval>/manifests/eval-results
    the `metrics` stage through run_stage + LocalExecutor     -> <eval>/manifests/metrics
    Inception features of both sets (reference cached)        -> FID, KID (mean and std)
    summary.json and report.html in <eval>                     (eval.folders says where <eval> is)

Each run starts its evaluation folder afresh (an evaluation is a snapshot of the folders it
reads), so the stage recomputes every row. This module sits on top of the evaluation package:
it alone (with command.py) imports stages/ and pipeline/; the modules it uses import neither,
so the metrics stage can use them and pipeline/ stays free of anything evaluation-specific.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.config import Config
from vtonpipe.errors import ConfigError
from vtonpipe.eval import checks
from vtonpipe.eval.features import reference_features, set_features
from vtonpipe.eval.folders import ResultsFolder, comparison_dir, default_out, evaluation_dir, locate_results
from vtonpipe.eval.metrics import frechet_distance, kernel_distance_stats
from vtonpipe.eval.protocol import (
    index_by_relative_stem,
    index_by_stem,
    list_images,
    listing_rows,
    match_ground_truth,
    person_images_only,
    relative_stem,
)
from vtonpipe.eval.provenance import ImagesFor, manifest_pair_images, tryon_settings
from vtonpipe.eval.report import link_mode_reports, write_report
from vtonpipe.eval.sheet import SheetRow, sheet_order
from vtonpipe.manifests.io import new_run_id, read_manifest, write_part
from vtonpipe.manifests.layout import manifest_dir
from vtonpipe.pipeline.devices import device_class
from vtonpipe.pipeline.executors import LocalExecutor
from vtonpipe.pipeline.run import run_stage
from vtonpipe.pipeline.sink import StageSummary, format_summary
from vtonpipe.stages import make_stage
from vtonpipe.stages.base import OK
from vtonpipe.stages.metrics import MetricsStage

CONVENTIONS = {
    "fid": "clean-fid compute_fid, mode 'clean': PIL bicubic float resize to 299, TF-Inception 2015-12-05 "
    "pool3 (2048-d), scipy sqrtm; GT first, results second",
    "kid_x1000": "clean-fid kernel_distance x 1000: unbiased MMD^2, cubic polynomial kernel (x.y/d + 1)^3, "
    "mean over 100 subsets of min(n_gt, n_results, 1000); std.kid_x1000 is their std (ddof 0)",
    "ssim": "torchmetrics >= 1.5 StructuralSimilarityIndexMeasure(data_range=1.0): Gaussian window 11, sigma 1.5, "
    "reflect padding, mean over pixels, channels and pairs",
    "lpips": "torchmetrics LearnedPerceptualImagePatchSimilarity(net_type='squeeze'), inputs in [-1, 1], "
    "mean over pairs",
}
SUMMARY, REPORT = "summary.json", "report.html"
LISTING_SCHEMA = pa.schema([("pair_id", pa.string()), ("result", pa.string()), ("gt", pa.string())])


def warn(warnings: list[str], new: list[str]) -> None:
    """Record warnings and print them to stderr as they are found."""
    for message in new:
        print(f"vtonpipe: warning: {message}", file=sys.stderr)
    warnings.extend(new)


def metrics_line(summary: dict[str, Any]) -> str:
    """``<mode>: fid=..  kid_x1000=..±..  ssim=..  lpips=..`` (metrics that could be computed)."""
    std = summary.get("std", {})
    shown = "  ".join(f"{k}={v:.4g}" + (f"±{std[k]:.2g}" if k in std else "")
                      for k, v in summary["metrics"].items() if v is not None)
    return f"{summary['mode']}: {shown}"


@dataclass(frozen=True)
class EvalOptions:
    """How an evaluation measures: model folders, device, caches, contact-sheet size, KID seed.

    `stats_cache_dir` holds reference statistics (default <out>/eval/cache).
    """

    inception_ir: str | os.PathLike
    lpips_ir: str | os.PathLike | None = None
    device: str = "CPU"
    threads: int | None = None
    cache_dir: str | os.PathLike | None = None
    stats_cache_dir: str | os.PathLike | None = None
    sample_size: int = 12
    seed: int = 0
    progress: bool = True


def run_evaluation(results_dir: str | os.PathLike, gt_dir: str | os.PathLike,
                   out_dir: str | os.PathLike | None = None, *, paired: bool | None = None,
                   images_for: ImagesFor | None = None, **options: Any) -> dict[str, Any]:
    """Evaluate the results in `results_dir` against the person images in `gt_dir`; the summary.

    `paired` defaults to the folder's mode in vtonpipe's layout (results/<model>/<split>/<mode>),
    else False. Writes into ``folders.evaluation_dir``; `out_dir` defaults to the output folder
    holding the results (else the results folder). `images_for(result_stem)` gives person,
    garment and mask paths for the contact sheet (default: the output folder's pairs manifest).
    `options`: the fields of EvalOptions.
    """
    opts = EvalOptions(**options)
    results = locate_results(results_dir)
    gt_dir = Path(os.path.abspath(gt_dir))
    mode = checks.evaluation_mode(results, paired)
    checks.check_gt_split(results, gt_dir)
    gt_paths, gt_garments = person_images_only(list_images(gt_dir))
    gt_index = index_by_stem(gt_paths)
    rows = listing_rows(results.path, results.images, mode, lambda p: match_ground_truth(p, gt_index))
    # Refusals about the images first, then the model folders, then the warnings.
    found = [*checks.ground_truth_warnings(rows, mode, gt_dir),
             *checks.set_size_warnings(len(results.images), len(gt_paths), f"person images in {gt_dir}")]
    groups, notes = tryon_settings(results)
    warnings: list[str] = []
    out = Path(os.path.abspath(out_dir)) if out_dir else default_out(results.path)
    run = _Run(evaluation_dir(out, results, mode), out, mode, opts, per_pair=(mode == "paired"), warnings=warnings)
    warn(warnings, found + notes)
    summary, by_id = run.measure(rows, results.images, gt_paths, "gt")
    summary["counts"] = {"results": len(results.images), **summary["counts"], "gt_garments_excluded": len(gt_garments)}
    summary.update(results_dir=str(results.path), gt_dir=str(gt_dir), settings=_settings(results, groups))
    images_for = images_for or manifest_pair_images(results)
    first = "ground truth" if mode == "paired" else "person"
    sheet = []
    for row in rows:
        extra = images_for(Path(row["result"]).stem) if images_for else {}
        person = row["gt"] if mode == "paired" else extra.get("person") or row["gt"]
        sheet.append(_sheet_row(by_id[row["pair_id"]], {first: person, "garment": extra.get("garment"),
                                                        "mask": extra.get("mask"), "result": row["result"]}))
    return run.finish(summary, sheet, (first, "garment", "mask", "result"))


def run_comparison(results_dir: str | os.PathLike, against_dir: str | os.PathLike,
                   out_dir: str | os.PathLike | None = None, *, images_for: ImagesFor | None = None,
                   **options: Any) -> dict[str, Any]:
    """Compare results A (`results_dir`) with results B of the same pairs (`against_dir`, e.g. the
    full-precision model's): per-pair SSIM/LPIPS of A vs. B and FID/KID with B as the reference,
    over the files both hold (matched by relative path, suffix aside); the summary.

    Writes into ``folders.comparison_dir``; `out_dir`, `images_for` and `options` as for
    `run_evaluation`.
    """
    opts = EvalOptions(**options)
    a, b = locate_results(results_dir), locate_results(against_dir)
    b_index = index_by_relative_stem(b.path, b.images)
    rows = [r for r in listing_rows(a.path, a.images, "against", lambda p: b_index.get(relative_stem(a.path, p)))
            if r["gt"] is not None]
    found = [*checks.comparison_warnings(a, b, len(rows)),
             *checks.set_size_warnings(len(rows), len(rows), "results of the other folder")]
    settings = {}
    for folder in (a, b):
        groups, notes = tryon_settings(folder)
        found += notes
        settings.update(_settings(folder, groups))
    warnings: list[str] = []
    out = Path(os.path.abspath(out_dir)) if out_dir else default_out(a.path)
    run = _Run(comparison_dir(out, a, b), out, "against", opts, per_pair=True, warnings=warnings)
    warn(warnings, found)
    summary, by_id = run.measure(rows, [Path(r["result"]) for r in rows], [Path(r["gt"]) for r in rows], "against")
    summary["counts"] = {"results": len(a.images), "against_total": len(b.images), "shared": len(rows),
                         **summary["counts"]}
    summary.update(results_dir=str(a.path), against_dir=str(b.path), settings=settings)
    images_for = images_for or manifest_pair_images(a) or manifest_pair_images(b)
    sheet = []
    for row in rows:
        extra = images_for(Path(row["result"]).stem) if images_for else {}
        sheet.append(_sheet_row(by_id[row["pair_id"]], {"person": extra.get("person"), "garment": extra.get("garment"),
                                                        "result A": row["result"], "result B": row["gt"]}))
    return run.finish(summary, sheet, ("person", "garment", "result A", "result B"))


def _settings(folder: ResultsFolder, groups: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {str(folder.path): groups} if groups else {}


def _sheet_row(metrics_row: dict[str, Any], images: dict[str, str | None]) -> SheetRow:
    error = f"{metrics_row['error_type']}: {metrics_row['error_message']}" if metrics_row["error_type"] else None
    return SheetRow(metrics_row["pair_id"], images, ssim=metrics_row.get("ssim"), lpips=metrics_row.get("lpips"),
                    status=metrics_row["status"], error=error)


class _Run:
    """One evaluation folder's run: the metrics stage, the set metrics, the summary and the report."""

    def __init__(self, eval_dir: Path, out: Path, mode: str, opts: EvalOptions, *, per_pair: bool,
                 warnings: list[str]):
        self.eval_dir, self.out, self.mode, self.opts = eval_dir, out, mode, opts
        self.per_pair, self.warnings = per_pair, warnings
        # Model folders are checked here, before any warning about the images is printed.
        o = opts
        if per_pair and o.lpips_ir is None:
            raise ConfigError("per-pair SSIM/LPIPS need an LPIPS IR folder (lpips_ir)")
        self.stage = make_stage(MetricsStage, str(eval_dir), threads=o.threads or 0,
                                cache_dir=None if o.cache_dir is None else str(o.cache_dir), paired=per_pair,
                                lpips_ir=None if o.lpips_ir is None else str(o.lpips_ir))
        self.stage.resources = replace(self.stage.resources, device_class=device_class(o.device))
        self.stage.check()
        from vtonpipe.models.inception.runtime import InceptionRuntime

        self.inception = InceptionRuntime(o.inception_ir, o.device, threads=o.threads, cache_dir=o.cache_dir)

    def _start_afresh(self, stage: MetricsStage) -> None:
        for name in (stage.input, stage.name):
            shutil.rmtree(manifest_dir(self.eval_dir, name), ignore_errors=True)
        for name in (SUMMARY, REPORT):
            (self.eval_dir / name).unlink(missing_ok=True)

    def measure(self, rows: list[dict[str, Any]], result_paths: Sequence[Path], reference_paths: list[Path],
                reference: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Per-pair rows through the metrics stage, then FID and KID with `reference_paths` as the
        reference set (counted as `reference` in the summary); (summary so far, rows by pair_id)."""
        o, stage, inception = self.opts, self.stage, self.inception
        self._start_afresh(stage)
        run_id = new_run_id()
        write_part(self.eval_dir, stage.input, pa.Table.from_pylist(rows, schema=LISTING_SCHEMA), run_id, 0)
        cfg = Config(out=str(self.eval_dir))
        stage_summary = StageSummary(stage.name)
        run_stage(stage, cfg, run_id, LocalExecutor(cfg), progress=o.progress, summary=stage_summary)
        print(format_summary([stage_summary]))
        by_id = {r["pair_id"]: r for r in read_manifest(self.eval_dir, stage.name, key=stage.key).to_pylist()}
        ok_rows = [by_id[r["pair_id"]] for r in rows if by_id[r["pair_id"]]["status"] == OK]
        if not ok_rows:
            raise ConfigError(f"no result could be evaluated (rows in {manifest_dir(self.eval_dir, stage.name)}): "
                              + "; ".join(stage_summary.first_errors[:2]))
        failed = len(rows) - len(ok_rows)
        # Results without ground truth were reported by the checks already.
        other = {k: n for k, n in stage_summary.errors_by_type.items() if k != "missing_gt"}
        if other:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(other.items()))
            warn(self.warnings, [f"{sum(other.values())} of {len(rows)} metrics rows failed ({kinds}); they lead the "
                                 "contact sheet"])
        height, width = ok_rows[0]["height"], ok_rows[0]["width"]  # the protocol's resolution: a result's
        result_feats = set_features(list(result_paths), inception)
        ref_feats = reference_features(reference_paths, inception, height,
                                       o.stats_cache_dir or self.out / "eval" / "cache")
        if len(result_feats.paths) < 2 or len(ref_feats.paths) < 2:
            raise ConfigError(f"FID/KID need at least 2 readable images per set: {len(result_feats.paths)} results, "
                              f"{len(ref_feats.paths)} reference images")
        kid, kid_std = kernel_distance_stats(ref_feats.features, result_feats.features, seed=o.seed)
        metrics: dict[str, float | None] = {
            "fid": frechet_distance(*ref_feats.statistics(), *result_feats.statistics()),
            "kid_x1000": 1000.0 * kid,
        }
        if self.per_pair:
            metrics["ssim"] = float(np.mean([r["ssim"] for r in ok_rows]))
            metrics["lpips"] = float(np.mean([r["lpips"] for r in ok_rows]))
        summary = {
            "mode": self.mode,
            "metrics": metrics,
            "std": {"kid_x1000": 1000.0 * kid_std},
            "conventions": {k: v for k, v in CONVENTIONS.items() if k in metrics},
            "resolution": {"height": int(height), "width": int(width)},
            "counts": {
                "results_in_fid": len(result_feats.paths),
                "results_unreadable": len(result_feats.unreadable),
                reference: len(ref_feats.paths),
                f"{reference}_unreadable": len(ref_feats.unreadable),
                "rows_ok": len(ok_rows),
                "rows_error": failed,
            },
            "model_ids": {"inception": inception.model_id, **({"lpips": stage.model_id} if self.per_pair else {})},
            "gt_stats": {"digest": ref_feats.digest, "cache_hit": ref_feats.cache_hit},
            "metrics_stage": asdict(stage_summary),
            "manifests": {name: str(manifest_dir(self.eval_dir, name)) for name in (stage.input, stage.name)},
            "run_id": run_id,
        }
        return summary, by_id

    def finish(self, summary: dict[str, Any], sheet: list[SheetRow], columns: tuple[str, ...]) -> dict[str, Any]:
        """Write summary.json and report.html (linked with the other mode's report); the summary."""
        summary.update(warnings=self.warnings, eval_dir=str(self.eval_dir), report=str(self.eval_dir / REPORT),
                       created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        atomic_write_bytes(self.eval_dir / SUMMARY, (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode())
        shown, order = sheet_order(sheet, self.opts.sample_size)
        columns = tuple(c for c in columns if any(r.images.get(c) for r in shown))
        page = write_report(self.eval_dir / REPORT, summary, shown, columns, order)
        link_mode_reports(page)
        return summary
