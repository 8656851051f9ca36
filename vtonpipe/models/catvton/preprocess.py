"""CatVTON's image preparation in numpy/PIL (no torch): crop, pad, normalise, binarise, repaint."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def resize_and_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop to the aspect of size=(w, h), then LANCZOS-resize to it (person and mask)."""
    img = Image.fromarray(image)
    w, h = img.size
    tw, th = size
    if w / h < tw / th:
        nw, nh = w, w * th // tw
    else:
        nw, nh = h * tw // th, h
    img = img.crop(((w - nw) // 2, (h - nh) // 2, (w + nw) // 2, (h + nh) // 2))
    return np.asarray(img.resize(size, Image.LANCZOS))


def resize_and_pad(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Aspect-preserving LANCZOS resize to fit size=(w, h), centred on white (the garment)."""
    img = Image.fromarray(image)
    w, h = img.size
    tw, th = size
    if w / h < tw / th:
        nw, nh = w * th // h, th
    else:
        nw, nh = tw, h * tw // w
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(img.convert("RGB").resize((nw, nh), Image.LANCZOS), ((tw - nw) // 2, (th - nh) // 2))
    return np.asarray(canvas)


def to_model_image(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 -> float32 1x3xHxW in [-1, 1]."""
    return (rgb.astype(np.float32).transpose(2, 0, 1)[None] / 127.5 - 1.0).astype(np.float32)


def binary_mask(mask: np.ndarray) -> np.ndarray:
    """uint8 HxW -> float32 1x1xHxW of {0, 1}, binarised at 0.5 like CatVTON."""
    return (mask.astype(np.float32) / 255.0 >= 0.5).astype(np.float32)[None, None]


def to_uint8_image(decoded: np.ndarray) -> np.ndarray:
    """VAE output 1x3xHxW in about [-1, 1] -> uint8 HxWx3, rounded like diffusers' numpy_to_pil."""
    x = np.clip(decoded[0] / 2 + 0.5, 0.0, 1.0).transpose(1, 2, 0)
    return (x * 255).round().astype(np.uint8)


def repaint(person: np.ndarray, mask: np.ndarray, result: np.ndarray) -> np.ndarray:
    """Keep the person outside a blurred mask (radius H//50 made odd), as CatVTON's --repaint."""
    radius = result.shape[0] // 50
    radius += 1 - radius % 2
    soft = np.asarray(Image.fromarray(mask).filter(ImageFilter.GaussianBlur(radius)), dtype=np.float64)[..., None] / 255
    return (person * (1 - soft) + result * soft).astype(np.uint8)
