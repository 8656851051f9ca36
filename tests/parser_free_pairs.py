"""Deterministic try-on pairs and helpers shared by the DM-VTON and PF-AFN tests."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """uint8 RGB: a coarse random pattern upsampled, plus a little noise (features vary smoothly)."""
    coarse = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), dtype=np.int16)
    return np.clip(image + rng.integers(-8, 9, image.shape), 0, 255).astype(np.uint8)


def garment_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """uint8 HxW: a filled ellipse with JPEG-like grey values at its edge."""
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = height * rng.uniform(0.4, 0.6), width * rng.uniform(0.4, 0.6)
    r = ((yy - cy) / (0.35 * height)) ** 2 + ((xx - cx) / (0.3 * width)) ** 2
    return np.clip((1.2 - r) * 5 * 255, 0, 255).astype(np.uint8)


def pairs(n: int, height: int, width: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(smooth_image(rng, height, width), smooth_image(rng, height, width), garment_mask(rng, height, width))
            for _ in range(n)]


def rel_l2(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(got - expected) / np.linalg.norm(expected))


NO_TORCH_PROBE = """
import sys
import numpy as np
from vtonpipe.models import families
rt = families.runtime_class(sys.argv[1])(sys.argv[2], threads=1)
image = np.full((rt.height, rt.width, 3), 128, np.uint8)
assert rt(image, image, np.full(image.shape[:2], 255, np.uint8)).shape == image.shape
print(",".join(m for m in ("torch", "nncf", "diffusers", "transformers") if m in sys.modules))
"""


def convert_only_modules_loaded_by_runtime(family: str, ir_dir) -> str:
    """Run the family's runtime on `ir_dir` in a fresh interpreter; the convert-only packages it imported."""
    out = subprocess.run([sys.executable, "-c", NO_TORCH_PROBE, family, str(ir_dir)], capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()
