"""Inception features of image sets, with reference-set statistics cached by content.

The reference (GT) set is the same for every model evaluated on a dataset, so its features are
stored in ``<cache>/inception-<digest>.npz`` (features, mean, covariance). The digest covers the
bytes of every file, the resolution they are resized to and the Inception IR, so a changed file,
size or network never reuses stale statistics.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vtonpipe.atomic import atomic_target
from vtonpipe.datasets.images import load_rgb
from vtonpipe.errors import RowError
from vtonpipe.eval.metrics import feature_statistics
from vtonpipe.eval.protocol import resize_to_height
from vtonpipe.models.common.ir import sha256_file
from vtonpipe.models.inception.runtime import InceptionRuntime


@dataclass
class SetFeatures:
    """Features of the readable files of one set, and the files that could not be read."""

    features: np.ndarray
    paths: list[Path]
    unreadable: list[str] = field(default_factory=list)
    digest: str = ""
    cache_hit: bool = False

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        return feature_statistics(self.features)


def set_digest(paths: list[Path], context: str) -> str:
    """sha256 over `context` and the sorted content hashes of the files."""
    h = hashlib.sha256(context.encode())
    for digest in sorted(sha256_file(p) for p in paths):
        h.update(digest.encode())
    return h.hexdigest()


def set_features(paths: list[Path], runtime: InceptionRuntime, height: int | None = None) -> SetFeatures:
    """Features of `paths`, each first resized to `height` rows when given; unreadable files skipped."""
    kept: list[Path] = []
    unreadable: list[str] = []

    def readable():
        for p in paths:
            try:
                image = load_rgb(p)
            except RowError as exc:
                unreadable.append(exc.message)
                continue
            kept.append(p)
            yield resize_to_height(image, height) if height else image

    features = runtime.features(readable())
    return SetFeatures(features, kept, unreadable)


def reference_features(
    paths: list[Path], runtime: InceptionRuntime, height: int, cache_dir: str | os.PathLike
) -> SetFeatures:
    """Features of the GT set at `height`, read from or written to the content-keyed cache."""
    digest = set_digest(paths, f"{runtime.model_id}|clean|height={height}")
    cache = Path(cache_dir) / f"inception-{digest[:32]}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            kept = [Path(p) for p in data["paths"]]
            return SetFeatures(data["features"], kept, list(data["unreadable"]), digest, cache_hit=True)
    result = set_features(paths, runtime, height)
    result.digest = digest
    mu, sigma = result.statistics()
    with atomic_target(cache) as tmp, open(tmp, "wb") as f:  # a file object: savez adds no suffix
        np.savez(
            f,
            features=result.features,
            mu=mu,
            sigma=sigma,
            paths=np.array([str(p) for p in result.paths]),
            unreadable=np.array(result.unreadable, dtype=str),
        )
    return result
