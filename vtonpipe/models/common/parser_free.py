"""The parser-free try-on runtime shared by DM-VTON and PF-AFN: numpy, PIL and OpenVINO, no torch.

One pair is (person RGB, garment RGB, garment mask), each at any size. Preparation follows the
official test scripts: images resized to the IR size (bicubic; the mask nearest) and mapped to
[-1, 1], the mask to [0, 1]; the IR binarises the mask at 0.5 and masks the garment itself. The
try-on in [-1, 1] becomes uint8 by the family's rule, then is resized back to the person's size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from vtonpipe.models.common.ir import compile_ir, read_ir

ROUNDINGS = ("half_up", "truncate")


def _resized(image: np.ndarray, height: int, width: int, resample: int) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), resample))


def rgb_input(image: np.ndarray, height: int, width: int, what: str) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 3 x height x width in [-1, 1]."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{what} must be a uint8 HxWx3 RGB image, got {image.dtype} {image.shape}")
    image = _resized(image, height, width, Image.BICUBIC)
    return (image.transpose(2, 0, 1).astype(np.float32) / 255.0 - 0.5) / 0.5


def mask_input(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """HxW mask (uint8 0-255, bool, or float in [0, 1]) -> float32 1 x height x width in [0, 1]."""
    if mask.ndim != 2:
        raise ValueError(f"garment_mask must be an HxW array, got shape {mask.shape}")
    if mask.dtype == np.bool_:
        mask = mask.astype(np.uint8) * 255
    elif mask.dtype != np.uint8:
        mask = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
        return _resized(mask, height, width, Image.NEAREST)[None]
    return (_resized(mask, height, width, Image.NEAREST).astype(np.float32) / 255.0)[None]


def pair_inputs(person: np.ndarray, garment: np.ndarray, garment_mask: np.ndarray,
                height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pair's IR inputs (person, garment, garment_mask) without the batch axis."""
    if garment_mask.shape[:2] != garment.shape[:2]:
        raise ValueError(f"garment_mask {garment_mask.shape[:2]} does not match the garment {garment.shape[:2]}")
    return (rgb_input(person, height, width, "person"), rgb_input(garment, height, width, "garment"),
            mask_input(garment_mask, height, width))


def batched_inputs(pairs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], batch: int,
                   names: Sequence[str]) -> list[dict[str, np.ndarray]]:
    """Prepared pairs stacked into IR calls of `batch` pairs; the last call is padded with copies
    of its last pair."""
    calls = []
    for start in range(0, len(pairs), batch):
        chunk = list(pairs[start:start + batch])
        chunk += [chunk[-1]] * (batch - len(chunk))
        calls.append({name: np.stack([p[i] for p in chunk]) for i, name in enumerate(names)})
    return calls


def to_uint8(tryon: np.ndarray, rounding: str) -> np.ndarray:
    """3xHxW in [-1, 1] -> uint8 HxWx3. "half_up": clamp, (x + 1) * 127.5, + 0.5, truncate (the
    DM-VTON script's save_image); "truncate": (x + 1) / 2 * 255 truncated (the PF-AFN script)."""
    x = tryon.transpose(1, 2, 0)
    if rounding == "half_up":
        x = (np.clip(x, -1.0, 1.0) + 1.0) / 2.0 * 255.0 + 0.5
    elif rounding == "truncate":
        x = (x + 1.0) / 2.0 * 255.0
    else:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    return np.clip(x, 0, 255).astype(np.uint8)


class ParserFreeRuntime:
    """A compiled parser-free try-on IR. Subclasses name their family and IR ports.

    ``rt(person, garment, garment_mask)`` returns one uint8 HxWx3 try-on at the person's size;
    ``rt.generate(persons, garments, garment_masks)`` runs a list, `batch` pairs per IR call.
    """

    FAMILY: str
    IR_NAME: str
    INPUT_NAMES: tuple[str, str, str]
    OUTPUT_NAME: str

    def __init__(self, ir_dir: str | os.PathLike, device: str = "CPU", *, threads: int | None = None,
                 cache_dir: str | os.PathLike | None = None):
        self.info = read_ir(ir_dir, self.FAMILY)
        self.model_id = self.info.model_id
        self.height, self.width = int(self.info.param("height")), int(self.info.param("width"))
        self.batch = int(self.info.param("batch"))
        self.rounding = str(self.info.param("rounding"))
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"{self.info.folder}/model.json: unknown rounding {self.rounding!r}")
        self._compiled = compile_ir(self.info.xml(self.IR_NAME), device, threads=threads, cache_dir=cache_dir)
        self._request = self._compiled.create_infer_request()
        self._output = self._compiled.output(self.OUTPUT_NAME)

    def __call__(self, person: np.ndarray, garment: np.ndarray, garment_mask: np.ndarray) -> np.ndarray:
        """One try-on: uint8 RGB person and garment, HxW garment mask -> uint8 RGB at the person's size."""
        return self.generate([person], [garment], [garment_mask])[0]

    def generate(self, persons: Sequence[np.ndarray], garments: Sequence[np.ndarray],
                 garment_masks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Try-ons of aligned lists; a result never depends on the other pairs of its call."""
        if not len(persons) == len(garments) == len(garment_masks):
            raise ValueError(f"got {len(persons)} persons, {len(garments)} garments and {len(garment_masks)} masks")
        prepared = [pair_inputs(p, g, m, self.height, self.width) for p, g, m in zip(persons, garments, garment_masks)]
        results: list[np.ndarray] = []
        for inputs in batched_inputs(prepared, self.batch, self.INPUT_NAMES):
            out = self._request.infer(inputs)[self._output][: len(prepared) - len(results)]
            results += [to_uint8(x, self.rounding) for x in out]
        return [_resized(image, p.shape[0], p.shape[1], Image.BICUBIC) for image, p in zip(results, persons)]
