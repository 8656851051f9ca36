"""The evaluate command: FID/KID of a results folder vs. person images, SSIM/LPIPS per pair.

FID and KID are set-level, so evaluation runs as a plain local loop (no Ray): Inception features
of every result and of the GT set (cached by content), then one metrics row per result through
the Stage contract (per-pair SSIM and LPIPS in the paired setting), then ``eval/summary.json``,
``eval/report.html`` and a Parquet part under ``manifests/metrics/``. It works on any folder of
results (vtonpipe's ``results/<model>/<mode>/`` or another tool's), matched to GT by file stem.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.datasets.images import load_rgb
from vtonpipe.errors import ConfigError, RowError
from vtonpipe.eval.features import reference_features, set_features
from vtonpipe.eval.metrics import frechet_distance, kernel_distance, ssim
from vtonpipe.eval.protocol import (
    index_by_stem,
    list_images,
    match_ground_truth,
    person_images_only,
    person_stem,
    resize_to_height,
)
from vtonpipe.eval.report import SheetRow, write_report
from vtonpipe.manifests.io import new_run_id, write_part
from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.models.common.ir import read_ir
from vtonpipe.models.inception.runtime import InceptionRuntime
from vtonpipe.models.lpips.runtime import LpipsRuntime
from vtonpipe.stages.base import OK, Resources, Stage

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


def _ir_folder(options: dict[str, Any], family: str) -> str:
    return options.get(f"{family}_ir") or os.path.join(options.get("models_dir") or "models", family)


class PairMetricsStage(Stage):
    """One metrics row per result: readable result, and in the paired setting SSIM and LPIPS vs. GT.

    Rows arrive as ``{"pair_id", "result", "gt"}`` with absolute paths (``gt`` may be None).
    """

    name = "metrics"
    input = "results"
    key = "pair_id"
    columns: ClassVar[list[pa.Field]] = [
        pa.field("result", pa.string()),
        pa.field("gt", pa.string()),
        pa.field("height", pa.int32()),
        pa.field("width", pa.int32()),
        pa.field("ssim", pa.float64()),
        pa.field("lpips", pa.float64()),
    ]
    version = "1"
    batch_size = 8
    resources = Resources(num_cpus=1, device_class="cpu")

    def check(self) -> None:
        if self.options.get("paired"):
            read_ir(_ir_folder(self.options, "lpips"), "lpips")

    def setup(self, device: str) -> None:
        super().setup(device)
        self.lpips = None
        if self.options.get("paired"):
            self.lpips = LpipsRuntime(
                _ir_folder(self.options, "lpips"),
                device,
                threads=self.options.get("threads"),
                cache_dir=self.options.get("cache_dir"),
            )
            self.model_id = self.lpips.model_id

    def _relative(self, path: str | None) -> str | None:
        if path is None:
            return None
        rel = os.path.relpath(path, self.out_dir)
        return path if rel.startswith("..") else rel

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        result = load_rgb(row["result"])
        out = {
            "result": self._relative(row["result"]),
            "gt": self._relative(row.get("gt")),
            "height": result.shape[0],
            "width": result.shape[1],
        }
        if self.lpips is None:
            return out
        if row.get("gt") is None:
            raise RowError("missing_gt", f"no ground-truth image with stem {person_stem(Path(row['result']).stem)!r}")
        gt = resize_to_height(load_rgb(row["gt"]), result.shape[0])
        if gt.shape != result.shape:
            raise RowError(
                "size_mismatch",
                f"GT {row['gt']} resized to the result height is {gt.shape[1]} wide, the result {result.shape[1]}",
            )
        out["ssim"] = ssim(result.astype(np.float64) / 255.0, gt.astype(np.float64) / 255.0)
        out["lpips"] = self.lpips.distance(result, gt)
        return out


def pair_images(pairs: Iterable[dict[str, Any]], out_dir: str | os.PathLike) -> ImagesFor:
    """Contact-sheet lookup from pairs-manifest rows: result stem -> person, garment, mask paths.

    The mask is the masks stage's agnostic mask in `out_dir` when it exists, else the dataset's.
    """
    table: dict[str, dict[str, str | None]] = {}
    for row in pairs:
        stem = f"{row['person_stem']}__{row['garment_stem']}"
        mask = Path(out_dir) / str(row.get("person_group")) / "agnostic-mask" / f"{row['person_stem']}_mask.png"
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

    options = {"paired": paired, "lpips_ir": lpips_ir, "threads": threads, "cache_dir": cache_dir}
    stage = PairMetricsStage(str(out_dir), options)
    stage.check()
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


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `vtonpipe evaluate`."""
    parser.add_argument("--results", required=True, help="folder of result images (searched recursively)")
    parser.add_argument("--gt", required=True, help="folder of ground-truth PERSON images (never garments)")
    parser.add_argument("--paired", action="store_true", help="paired setting: add per-pair SSIM and LPIPS")
    parser.add_argument("--out", help="output folder for eval/ and manifests/metrics/ (default: --results)")
    parser.add_argument("--models-dir", help="holds the inception/ and lpips/ IR folders (default: <out>/models "
                        "when --out is given, as for the other commands, else ./models)")
    parser.add_argument("--inception-ir", help="Inception IR folder (default <models-dir>/inception)")
    parser.add_argument("--lpips-ir", help="LPIPS IR folder (default <models-dir>/lpips)")
    parser.add_argument("--device", default="CPU", help="OpenVINO device (default CPU)")
    parser.add_argument("--threads", type=int, help="OpenVINO inference threads")
    parser.add_argument("--cache-dir", help="OpenVINO compile cache folder")
    parser.add_argument("--stats-cache", help="reference-statistics cache folder (default <out>/eval/cache)")
    parser.add_argument("--sample", type=int, default=12, help="pairs shown in the report's contact sheet")
    parser.add_argument("--seed", type=int, default=0, help="seed of KID's subset draw")


def evaluate_from_args(args: argparse.Namespace, images_for: ImagesFor | None = None) -> dict[str, Any]:
    models_dir = args.models_dir or (os.path.join(args.out, "models") if args.out else "models")
    options = {"models_dir": models_dir, "inception_ir": args.inception_ir, "lpips_ir": args.lpips_ir}
    return run_evaluation(
        args.results,
        args.gt,
        args.out or args.results,
        paired=args.paired,
        inception_ir=_ir_folder(options, "inception"),
        lpips_ir=_ir_folder(options, "lpips"),
        device=args.device,
        threads=args.threads,
        cache_dir=args.cache_dir,
        stats_cache_dir=args.stats_cache,
        images_for=images_for,
        sample_size=args.sample,
        seed=args.seed,
    )
