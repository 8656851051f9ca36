"""Inception features on OpenVINO with clean-fid's "clean" preprocessing (no torch).

clean-fid's clean mode resizes each channel separately as a float32 PIL image with bicubic
filtering (PIL's antialiased resampling) to 299x299 and does not quantise the result; the IR
then scales [0, 255] to [-1, 1] and returns pool3 features.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
from PIL import Image

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.ir import compile_ir, read_ir
from vtonpipe.models.inception import FAMILY, INPUT_SIZE, IR_NAME


def clean_resize(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 size x size x 3 in [0, 255], resized per channel in float."""
    channels = [
        np.asarray(Image.fromarray(image[:, :, c].astype(np.float32), mode="F").resize((size, size), Image.BICUBIC))
        for c in range(3)
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 255.0).astype(np.float32)


class InceptionRuntime:
    """Compiled feature extractor of one IR folder."""

    def __init__(self, ir_dir: str | os.PathLike, device: str = "CPU", *, threads=None, cache_dir=None):
        self.info = read_ir(ir_dir, FAMILY)
        self.model_id = self.info.model_id
        self.batch = int(self.info.inputs[IR_NAME]["images"][0])
        self.compiled = compile_ir(os.path.join(ir_dir, f"{IR_NAME}.xml"), device, threads=threads, cache_dir=cache_dir)
        shape = list(self.compiled.inputs[0].get_partial_shape().to_shape())
        if shape[1:] != [3, INPUT_SIZE, INPUT_SIZE]:
            raise ModelFilesError(f"{ir_dir}: IR input {shape} is not [N, 3, {INPUT_SIZE}, {INPUT_SIZE}]")
        self.feature_dim = int(self.compiled.outputs[0].get_partial_shape()[1].get_length())
        self.request = self.compiled.create_infer_request()

    def features(self, images: Iterable[np.ndarray]) -> np.ndarray:
        """(N, D) float64 features (D = 2048 for the official network) of uint8 HxWx3 RGB images."""
        out = []
        chunk: list[np.ndarray] = []
        for image in images:
            chunk.append(clean_resize(image))
            if len(chunk) == self.batch:
                out.append(self._run(chunk))
                chunk = []
        if chunk:
            out.append(self._run(chunk))
        return np.concatenate(out) if out else np.zeros((0, self.feature_dim))

    def _run(self, chunk: list[np.ndarray]) -> np.ndarray:
        n = len(chunk)
        batch = np.zeros((self.batch, 3, INPUT_SIZE, INPUT_SIZE), np.float32)
        # A short last batch is padded; the padding's features are dropped.
        batch[:n] = np.stack(chunk).transpose(0, 3, 1, 2)
        result = self.request.infer({0: batch})
        return np.asarray(result[self.compiled.outputs[0]], dtype=np.float64)[:n]
