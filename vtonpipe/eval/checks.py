"""Checks that an evaluation compares what it claims to compare.

Refusals (ConfigError, one line naming what to pass instead): a paired evaluation of unpaired
results, a GT folder of another split than the results', paired results none of which has a
ground-truth image, two result folders that share no file name. Doubts become warnings (one
line each), which the evaluation prints to stderr and records in summary.json and the report:
results without ground truth, GT that names few of the results' persons, sets of very different
sizes, and sets too small for FID and KID to be unbiased.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vtonpipe.datasets.layouts import VITONHD_SPLITS
from vtonpipe.errors import ConfigError
from vtonpipe.eval.folders import ResultsFolder

# FID is biased upward on small sets (and KID's subsets shrink with them); published try-on
# numbers use the whole test split (VITON-HD: 2,032 pairs).
MIN_FID_IMAGES = 2000
MAX_COUNT_RATIO = 2.0  # results vs. reference images, either way
MIN_MATCHED_SHARE = 0.5  # of the results whose person is in the GT folder


def evaluation_mode(results: ResultsFolder, paired: bool | None) -> str:
    """"paired" or "unpaired": the folder's own mode in vtonpipe's layout, else `paired`."""
    if results.mode is None:
        return "paired" if paired else "unpaired"
    if paired and results.mode == "unpaired":
        raise ConfigError(f"{results.path} holds unpaired results (each person in another garment), which have no "
                          "ground truth for SSIM/LPIPS: leave out --paired")
    if paired is False and results.mode == "paired":
        raise ConfigError(f"{results.path} holds paired results: evaluate them as paired")
    return results.mode


def check_gt_split(results: ResultsFolder, gt_dir: Path) -> None:
    """Refuse a GT folder whose path names another split than the results' (VITON-HD train/test)."""
    if results.split not in VITONHD_SPLITS:
        return
    parts = Path(os.path.abspath(gt_dir)).parts
    other = next((s for s in VITONHD_SPLITS if s != results.split and s in parts), None)
    if other is None or results.split in parts:
        return
    suggestion = Path(*[results.split if p == other else p for p in parts])
    raise ConfigError(f"--gt {gt_dir} is a {other} folder but the results are {results.split} renders: "
                      f"pass --gt {suggestion}")


def ground_truth_warnings(rows: list[dict[str, Any]], mode: str, gt_dir: Path) -> list[str]:
    """Warnings about results whose person is not in the GT folder; refuse paired results none of
    which has a ground truth."""
    missing = [Path(r["result"]).name for r in rows if r["gt"] is None]
    n, matched = len(rows), len(rows) - len(missing)
    if not missing:
        return []
    if mode == "paired":
        if not matched:
            raise ConfigError(f"none of the {n} paired results has a ground-truth image in --gt {gt_dir} "
                              "(<person>__<garment>.png matches <person>.*, any other name the file of its own stem): "
                              "pass the person images of the results' split")
        return [f"{len(missing)} of {n} paired results have no ground-truth image in {gt_dir} (e.g. {missing[0]}): "
                f"they are missing_gt rows and SSIM/LPIPS average the other {matched}"]
    if matched < MIN_MATCHED_SHARE * n:
        return [f"only {matched} of {n} results name a person of {gt_dir} (e.g. {missing[0]} does not): "
                "is it the person folder of the results' split?"]
    return []


def set_size_warnings(n_results: int, n_reference: int, reference: str) -> list[str]:
    """Warnings about set sizes: very different, or too small for unbiased FID/KID."""
    warnings = []
    if max(n_results, n_reference) > MAX_COUNT_RATIO * min(n_results, n_reference):
        warnings.append(f"{n_results} results against {n_reference} {reference}: sets of very different sizes "
                        "(another split's folder, or a part of the renders?)")
    n = min(n_results, n_reference)
    if n < MIN_FID_IMAGES:
        warnings.append(f"FID and KID on {n} images are biased (FID upward) and vary between draws: compare them "
                        f"only with numbers on the same images; published ones use >= {MIN_FID_IMAGES}")
    return warnings


def comparison_warnings(results: ResultsFolder, against: ResultsFolder, shared: int) -> list[str]:
    """Warnings about file names only one of two compared folders holds; refuse when none is shared."""
    if not shared:
        raise ConfigError(f"--results {results.path} and --against {against.path} share no file name "
                          "(relative path, suffix aside): compare renders of the same pairs")
    only_a, only_b = len(results.images) - shared, len(against.images) - shared
    if not only_a and not only_b:
        return []
    return [f"{shared} file names are in both folders, {only_a} only in {results.path} and {only_b} only in "
            f"{against.path}: every metric uses the {shared} shared ones"]
