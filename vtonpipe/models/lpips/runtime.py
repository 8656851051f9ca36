"""LPIPS-squeeze distances on OpenVINO (no torch).

The network is fully convolutional with a spatial mean at the end, so one IR serves every image
size: when a pair's size differs from the IR's static shape, the model is reshaped to another
static shape and compiled once for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import openvino as ov

from vtonpipe.models.common.ir import compile_ir, read_ir
from vtonpipe.models.lpips import FAMILY, IR_NAME

MIN_SIZE = 17  # SqueezeNet-1.1's smallest input (three stride-2 pools after a stride-2 conv)


def to_signed_unit(image: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 1x3xHxW in [-1, 1] (torchmetrics' LPIPS input range)."""
    x = image.astype(np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


class LpipsRuntime:
    """Compiled LPIPS of one IR folder; compiles one model per image size met."""

    def __init__(self, ir_dir: str | os.PathLike, device: str = "CPU", *, threads=None, cache_dir=None):
        self.ir_dir = Path(ir_dir)
        self.info = read_ir(ir_dir, FAMILY)
        self.model_id = self.info.model_id
        self.device, self.threads, self.cache_dir = device, threads, cache_dir
        shape = self.info.inputs[IR_NAME]["img0"]
        self.size = (int(shape[2]), int(shape[3]))
        self._compiled: dict[tuple[int, int], ov.CompiledModel] = {
            self.size: self._compile(self.ir_dir / f"{IR_NAME}.xml")
        }

    def _compile(self, model: Path | ov.Model) -> ov.CompiledModel:
        return compile_ir(model, self.device, threads=self.threads, cache_dir=self.cache_dir)

    def _compiled_for(self, size: tuple[int, int]) -> ov.CompiledModel:
        if size not in self._compiled:
            if min(size) < MIN_SIZE:
                raise ValueError(f"LPIPS-squeeze needs images of at least {MIN_SIZE}x{MIN_SIZE}, got {size}")
            model = ov.Core().read_model(str(self.ir_dir / f"{IR_NAME}.xml"))
            shape = [1, 3, *size]
            model.reshape({port.any_name: shape for port in model.inputs})
            self._compiled[size] = self._compile(model)
        return self._compiled[size]

    def distance(self, image0: np.ndarray, image1: np.ndarray) -> float:
        """LPIPS between two uint8 HxWx3 RGB images of the same size."""
        if image0.shape != image1.shape:
            raise ValueError(f"LPIPS needs images of one size, got {image0.shape} and {image1.shape}")
        compiled = self._compiled_for(tuple(image0.shape[:2]))
        result = compiled({"img0": to_signed_unit(image0), "img1": to_signed_unit(image1)})
        return float(np.asarray(result[compiled.outputs[0]]).reshape(-1)[0])
