"""INT8 calibration pairs for `vtonpipe models convert --int8`: (person, garment, agnostic mask)
uint8 images, from a pairs manifest of a pipeline output folder or drawn like the demo dataset.

The converters in vtonpipe.models receive a `calibration(n, height, width)` callable built here,
so the model families never read manifests or draw synthetic people themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from vtonpipe.errors import ConfigError

Pair = tuple[np.ndarray, np.ndarray, np.ndarray]  # person RGB, garment RGB, agnostic mask (0/255)


def demo_pairs(n: int, height: int, width: int, seed: int = 0) -> list[Pair]:
    """Pairs drawn like the demo dataset's: a person, another garment, and the CatVTON upper-body
    mask computed from the person's exact parse and DensePose maps."""
    from vtonpipe.datasets.synthetic import draw_garment, draw_person
    from vtonpipe.masks.agnostic import agnostic_mask

    pairs = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        person = draw_person(rng, height, width)
        garment = draw_garment(rng, height, width)
        pairs.append((person.image, garment.image, agnostic_mask(person.densepose, person.lip, person.atr, "upper")))
    return pairs


def manifest_pairs(manifest: str, masks_root: str | None, limit: int) -> list[Pair]:
    """The first `limit` ok pairs of a pairs manifest (Parquet file or folder) with their masks:
    the dataset's agnostic mask, else the masks stage's under `masks_root` (an output folder)."""
    import pyarrow.parquet as pq

    from vtonpipe.datasets.images import load_labels, load_rgb
    from vtonpipe.manifests.layout import agnostic_mask_path

    pairs: list[Pair] = []
    for batch in pq.ParquetFile(manifest).iter_batches() if os.path.isfile(manifest) else [pq.read_table(manifest)]:
        for row in batch.to_pylist():
            if row.get("status", "ok") != "ok":
                continue
            mask_path = row.get("ann_agnostic_mask")
            if not mask_path and masks_root:
                mask_path = os.path.join(masks_root, agnostic_mask_path(row["person_group"], row["person_stem"]))
            if not mask_path or not os.path.isfile(mask_path):
                continue
            pairs.append((load_rgb(row["person_image"]), load_rgb(row["garment_image"]), load_labels(mask_path)))
            if len(pairs) == limit:
                return pairs
    if not pairs:
        raise ConfigError(
            f"{manifest}: no pair with an agnostic mask to calibrate on (run `vtonpipe masks` first or pass --calib-masks)"
        )
    return pairs


def pair_source(manifest: str | None = None, masks_root: str | None = None) -> Callable[[int, int, int], list[Pair]]:
    """`calibration(n, height, width)` for the converters: manifest pairs when a manifest is given,
    else demo-style synthetic pairs at the model's size."""
    if manifest:
        return lambda n, height, width: manifest_pairs(manifest, masks_root, n)
    return lambda n, height, width: demo_pairs(n, height, width)
