"""Where things live in an output folder (deterministic paths) and how files are written there.

    <out>/run.json
    <out>/manifests/<manifest>/part-<run_id>-<n>.parquet
    <out>/<group>/<dataset folder>/<stem><suffix>      e.g. test/image-parse-lip/00001_00.png
    <out>/results/<model>/<paired|unpaired>/<person>__<garment>.png
    <out>/eval/summary.json, <out>/eval/report.html

``group`` is the dataset split (VITON-HD train/test), the DressCode category folder, or
"catalog". Stages store paths relative to <out> in their manifests.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

_UMASK = os.umask(0)
os.umask(_UMASK)


def manifest_dir(out_dir: str | os.PathLike, name: str) -> Path:
    return Path(out_dir) / "manifests" / name


def item_path(group: str, folder: str, stem: str, suffix: str) -> str:
    """Relative path of one per-item output file: ``<group>/<folder>/<stem><suffix>``."""
    for part in (group, folder, stem):
        if not part or "/" in part or "\\" in part or part in (".", ".."):
            raise ValueError(f"unsafe path component {part!r}")
    return f"{group}/{folder}/{stem}{suffix}"


def result_path(model: str, mode: str, person_stem: str, garment_stem: str) -> str:
    """Relative path of one try-on result."""
    return f"results/{model}/{mode}/{person_stem}__{garment_stem}.png"


@contextmanager
def atomic_target(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temp path beside `path`; on success it replaces `path`, on failure it is removed.

    The temp file gets the mode a plain open() would give (mkstemp's 0600 would hide outputs
    from other users of a shared cluster).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, then os.replace it into place."""
    with atomic_target(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_save_image(
    path: str | os.PathLike,
    image: np.ndarray | Image.Image,
    *,
    palette: list[int] | None = None,
    quality: int = 95,
) -> None:
    """Save an image atomically. PNG is lossless; JPEG (dataset-layout files only) uses `quality`.

    `palette` turns a uint8 label map into a P-mode PNG whose pixel values are the class ids.
    """
    path = Path(path)
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    if palette is not None:
        img = img.convert("L") if img.mode not in ("L", "P") else img
        img = Image.frombytes("P", img.size, img.tobytes())
        img.putpalette(palette)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    kwargs = {"quality": quality} if fmt == "JPEG" else {}
    with atomic_target(path) as tmp:
        img.save(tmp, format=fmt, **kwargs)
