"""What evaluated results are, read from the output folder that holds them.

- ``tryon_settings``: how each result was rendered (the tryon manifest's ``model_id``,
  ``stage_version`` and ``params``: steps, guidance, eta, repaint, seed...), grouped, with
  warnings when the results mix settings or some have no ok tryon row.
- ``pair_images``: each pair's person, garment and mask (pairs manifest), for the contact sheet.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from vtonpipe.eval.folders import ResultsFolder
from vtonpipe.manifests.io import read_manifest
from vtonpipe.manifests.layout import agnostic_mask_path, pair_stem, tryon_manifest

ImagesFor = Callable[[str], dict[str, str | None]]


def tryon_settings(folder: ResultsFolder) -> tuple[list[dict[str, Any]], list[str]]:
    """Groups of results rendered alike ({model_id, stage_version, params, results}), most first,
    and warnings; nothing when `folder` is not in a vtonpipe output folder with a tryon manifest."""
    if folder.root is None:
        return [], []
    table = read_manifest(folder.root, tryon_manifest(folder.model), columns=["status", "result_path", "model_id", "stage_version",
                                                         "params"], key="pair_id")
    if table is None:
        return [], []
    table = table.filter(pc.equal(table["status"], "ok"))
    made = {row["result_path"]: (row["model_id"], row["stage_version"], row["params"]) for row in table.to_pylist()}
    counts: Counter = Counter()
    unknown = []
    for image in folder.images:
        key = made.get(image.relative_to(folder.root).as_posix())
        if key is None:
            unknown.append(image.name)
        else:
            counts[key] += 1
    groups = [{"model_id": m, "stage_version": v, "params": json.loads(p or "{}"), "results": n}
              for (m, v, p), n in counts.most_common()]
    warnings = []
    if len(groups) > 1:
        warnings.append(f"the results in {folder.path} were rendered with {len(groups)} different models or try-on "
                        "settings (see the report): rerender with `vtonpipe tryon --rerun-stale` to compare like "
                        "with like")
    if unknown:
        warnings.append(f"{len(unknown)} of {len(folder.images)} results in {folder.path} have no ok row in "
                        f"{folder.root}/manifests/tryon (e.g. {unknown[0]}): left from an earlier run or copied in; "
                        "how they were rendered is unknown")
    return groups, warnings


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


def manifest_pair_images(folder: ResultsFolder) -> ImagesFor | None:
    """`pair_images` from the pairs manifest of the output folder holding `folder`, if any."""
    if folder.root is None:
        return None
    pairs = read_manifest(folder.root, "pairs")
    return None if pairs is None else pair_images(pairs.to_pylist(), folder.root)
