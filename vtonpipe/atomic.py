"""Atomic file writes: a temp file beside the target, then os.replace, so a reader never sees
half a file and a killed process leaves at most a hidden ``.<name>.*.tmp`` behind.
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
