"""Reading images safely: decode checks, decompression-bomb guard, fixed channel orders.

Stages read every input image through these functions, so a bad file is always reported the
same way: a RowError with error_type "unreadable_image" (or "image_too_large"). Photos are read
upright: an EXIF orientation tag (a phone photo tagged "rotate 90") is applied on load, and probing
reports the upright size and the tag.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

from vtonpipe.errors import RowError

# 64 megapixels: far above any try-on image (1024x768 = 0.8 MP), far below a decompression bomb.
MAX_PIXELS = 64_000_000


EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ImageInfo:
    width: int  # upright (after the EXIF orientation)
    height: int
    mode: str
    format: str
    orientation: int  # EXIF orientation tag, 1 when absent (1 = upright, 6 = rotate 90 clockwise ...)


def _open_checked(path: str | os.PathLike, max_pixels: int) -> Image.Image:
    """Open and fully decode an image, refusing bombs and truncated or corrupt files."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise RowError("missing_file", f"{path}: {exc.strerror or exc}") from None
    if size == 0:
        raise RowError("unreadable_image", f"{path}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            if img.width * img.height > max_pixels:
                raise RowError(
                    "image_too_large",
                    f"{path}: {img.width}x{img.height} exceeds the {max_pixels} pixel limit",
                )
            img.load()
    except RowError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise RowError("image_too_large", f"{path}: {exc}") from None
    except Exception as exc:  # PIL raises many types for corrupt data
        raise RowError("unreadable_image", f"{path}: {type(exc).__name__}: {exc}") from None
    return img


def _orientation(img: Image.Image) -> int:
    try:
        value = int(img.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        return 1
    return value if 1 <= value <= 8 else 1


def probe_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Decode the whole file once and report its upright size, mode and EXIF orientation (RowError
    if it is unusable)."""
    img = _open_checked(path, max_pixels)
    orientation = _orientation(img)
    width, height = (img.height, img.width) if orientation in (5, 6, 7, 8) else (img.width, img.height)
    return ImageInfo(width, height, img.mode, img.format or "", orientation)


def load_rgb(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """uint8 HxWx3 RGB, upright."""
    img = _open_checked(path, max_pixels)
    if _orientation(img) != 1:
        img = ImageOps.exif_transpose(img)
    return np.asarray(img.convert("RGB"))


def load_bgr(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """uint8 HxWx3 BGR (the order detectron2 and SCHP models were trained on)."""
    return np.ascontiguousarray(load_rgb(path, max_pixels)[:, :, ::-1])


def resize_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A label map at `shape` (H, W) by nearest neighbour, PIL's rule (what DressCode's loader uses)."""
    if labels.shape == tuple(shape):
        return labels
    return cv2.resize(labels, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST_EXACT)


def load_labels(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """uint8 HxW label map: the raw index of a P-mode PNG, or the gray value of an L image."""
    img = _open_checked(path, max_pixels)
    if img.mode == "P":
        return np.asarray(img, dtype=np.uint8).copy()
    return np.asarray(img.convert("L"))
