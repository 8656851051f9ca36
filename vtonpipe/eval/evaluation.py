"""Evaluating a results folder: FID/KID against person images, SSIM/LPIPS per pair.

FID and KID are set-level, so evaluation runs in this process (no Ray): Inception features of
every result and of the GT set (cached by content), then one metrics row per result through the
`metrics` stage and the local executor (per-pair SSIM and LPIPS in the paired setting), then
``summary.json``, ``report.html`` and the ``metrics`` manifest. It works on any folder of results
(vtonpipe's ``results/<model>/<split>/<mode>/`` or another tool's), matched to GT by file stem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.datasets.images import load_rgb
from vtonpipe.errors import ConfigError
from vtonpipe.eval.features import reference_features, set_features
from vtonpipe.eval.metrics import frechet_distance, kernel_distance
from vtonpipe.eval.protocol import index_by_stem, list_images, match_ground_truth, person_images_only
from vtonpipe.eval.report import SheetRow, write_report
from vtonpipe.manifests.io import new_run_id, write_part
from vtonpipe.manifests.layout import agnostic_mask_path, pair_stem
from vtonpipe.stages.base import OK, RunContext
from vtonpipe.stages.metrics import MetricsOptions, MetricsStage
from vtonpipe.stages.options import build_options

CONVENTIONS = {
    "fid": "clean-fid compute_fid, mode 'clean': PIL bicubic float resize to 299, TF-Inception 2015-12-05 "
    "pool3 (2048-d), scipy sqrtm; GT first, results second",
    "kid_x1000": "clean-fid kernel_distance x 1000: unbiased MMD^2, cubic polynomial kernel (x.y/d + 1)^3, "
    "100 subsets of min(n_gt, n_results, 1000)",
    "ssim": "torchmetrics >= 1.5 StructuralSimilarityIndexMeasure(data_range=1.0): Gaussian window 11, sigma 1.5, "
    "reflect padding, mean over pixels, channels and pairs",
    "lpips": "torchmetrics LearnedPerceptualImagePatchSimilarity(net_type='squeeze'), inputs in [-1, 1], "
    "mean over pairs",
}

ImagesFor = Callable[[str], dict[str, str | None]]


def pair_images(pairs: Iterable[dict[str, Any]], out_dir: str | os.PathLike) -> ImagesFor:
    """Contact-sheet lookup from pairs-manifest rows: result stem -> person, garment, mask paths.

    The mask is the masks stage's agnostic mask in `out_dir` when it exists, else the dataset's.
    """
    table: dict[str, dict[str, str | None]] = {}
    for row in pairs:
        stem = pair_stem(row["person_stem"], row["garment_stem"])
        mask = Path(out_dir) / agnostic_mask_path(str(row.get("person_group")), row["person_stem"])
        table[stem] = {
            "person": row.get("person_image"),
            "garment": row.get("garment_image"),
            "mask": str(mask) if mask.is_file() else row.get("ann_agnostic_mask"),
        }
    return lambda stem: table.get(stem, {})


def _sample(n: int, k: int) -> list[int]:
    """`k` indices spread evenly over range(n), deterministic."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, k)})


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def run_evaluation(
    results_dir: str | os.PathLike,
    gt_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    paired: bool,
    inception_ir: str | os.PathLike,
    lpips_ir: str | os.PathLike | None = None,
    device: str = "CPU",
    threads: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    stats_cache_dir: str | os.PathLike | None = None,
    images_for: ImagesFor | None = None,
    sample_size: int = 12,
    seed: int = 0,
    eval_subdir: str = "eval",
) -> dict[str, Any]:
    """Evaluate `results_dir` against the person images in `gt_dir`; returns the summary dict.

    Writes <out>/<eval_subdir>/summary.json and report.html, and <out>/manifests/metrics/part-*.
    `images_for(result_stem)` may give person/garment/mask paths for the contact sheet.
    Reference statistics are cached in `stats_cache_dir` (default <out>/eval/cache).
    """
    mode = "paired" if paired else "unpaired"
    results_dir, gt_dir, out_dir = Path(results_dir), Path(gt_dir), Path(out_dir)
    if paired and lpips_ir is None:
        raise ConfigError("paired evaluation needs an LPIPS IR folder (lpips_ir)")
    results = list_images(results_dir)
    gt_all = list_images(gt_dir)
    gt_paths, gt_garments = person_images_only(gt_all)
    if len(results) < 2 or len(gt_paths) < 2:
        raise ConfigError(
            f"FID/KID need at least 2 images per set: {len(results)} results in {results_dir}, "
            f"{len(gt_paths)} person images in {gt_dir}"
        )
    gt_index = index_by_stem(gt_paths)
    height, width = load_rgb(results[0]).shape[:2]  # the protocol's resolution: the first result's

    context = RunContext(out_dir=str(out_dir), models_dir=str(out_dir / "models"), cache_dir=cache_dir,
                         threads=threads or 0)
    stage = MetricsStage(context, build_options(MetricsOptions, {"paired": paired, "lpips_ir": None if lpips_ir is None else str(lpips_ir)}))
    stage.check()
    from vtonpipe.models.inception.runtime import InceptionRuntime

    inception = InceptionRuntime(inception_ir, device, threads=threads, cache_dir=cache_dir)
    stage.setup(device)

    result_feats = set_features(results, inception)
    gt_feats = reference_features(gt_paths, inception, height, stats_cache_dir or out_dir / "eval" / "cache")
    if len(result_feats.paths) < 2 or len(gt_feats.paths) < 2:
        raise ConfigError(f"fewer than 2 readable images: {result_feats.unreadable + gt_feats.unreadable}")
    mu_gt, sigma_gt = gt_feats.statistics()
    mu_res, sigma_res = result_feats.statistics()
    metrics: dict[str, float | None] = {
        "fid": frechet_distance(mu_gt, sigma_gt, mu_res, sigma_res),
        "kid_x1000": 1000.0 * kernel_distance(gt_feats.features, result_feats.features, seed=seed),
    }

    rows = []
    for path in results:
        gt = match_ground_truth(path, gt_index)
        rel = path.relative_to(results_dir).with_suffix("").as_posix()
        rows.append({"pair_id": f"{mode}/{rel}", "result": str(path), "gt": None if gt is None else str(gt)})
    metric_rows = stage.process_batch(rows)
    run_id = new_run_id()
    manifest_part = write_part(out_dir, "metrics", stage.to_table(metric_rows), run_id, 0)

    ok_rows = [r for r in metric_rows if r["status"] == OK]
    if paired:
        metrics["ssim"] = float(np.mean([r["ssim"] for r in ok_rows])) if ok_rows else None
        metrics["lpips"] = float(np.mean([r["lpips"] for r in ok_rows])) if ok_rows else None

    summary = {
        "mode": mode,
        "metrics": metrics,
        "conventions": {k: v for k, v in CONVENTIONS.items() if k in metrics},
        "resolution": {"height": int(height), "width": int(width)},
        "counts": {
            "results": len(results),
            "results_in_fid": len(result_feats.paths),
            "results_unreadable": len(result_feats.unreadable),
            "gt": len(gt_feats.paths),
            "gt_unreadable": len(gt_feats.unreadable),
            "gt_garments_excluded": len(gt_garments),
            "rows_ok": len(ok_rows),
            "rows_error": len(metric_rows) - len(ok_rows),
        },
        "model_ids": {"inception": inception.model_id, **({"lpips": stage.model_id} if paired else {})},
        "gt_stats": {"digest": gt_feats.digest, "cache_hit": gt_feats.cache_hit},
        "results_dir": str(results_dir),
        "gt_dir": str(gt_dir),
        "manifest_part": os.path.relpath(manifest_part, out_dir),
        "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    eval_dir = out_dir / eval_subdir
    summary["report"] = str(eval_dir / "report.html")
    _write_json(eval_dir / "summary.json", summary)

    sheet = []
    for i in _sample(len(rows), sample_size):
        row, result = rows[i], metric_rows[i]
        extra = images_for(Path(row["result"]).stem) if images_for else {}
        sheet.append(
            SheetRow(
                pair_id=row["pair_id"],
                person=extra.get("person") or row["gt"],
                garment=extra.get("garment"),
                mask=extra.get("mask"),
                result=row["result"],
                gt=row["gt"] if paired else None,
                ssim=result.get("ssim"),
                lpips=result.get("lpips"),
                status=result["status"],
                error=result.get("error_message"),
            )
        )
    write_report(eval_dir / "report.html", summary, sheet)
    return summary
