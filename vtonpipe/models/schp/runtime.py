"""SCHP inference on OpenVINO: BGR image in, uint8 label map of the same size out (no torch)."""

from __future__ import annotations

import os

import numpy as np

from vtonpipe.labels.parsing import LABEL_SETS, LabelSet, palette
from vtonpipe.models.common.ir import compile_ir, read_ir
from vtonpipe.models.schp import FAMILY, INPUT_NAME, IR_NAME, OUTPUT_NAME, transforms


class SCHPRuntime:
    """One compiled SCHP IR (LIP or ATR, as its model.json says).

    ``runtime(bgr)`` letterboxes the image onto the square input, runs the network (whose output
    is already upsampled to the input size), maps the logits back through the inverse affine and
    takes the argmax.
    """

    def __init__(
        self,
        ir_dir: str | os.PathLike,
        device: str = "CPU",
        threads: int | None = None,
        cache_dir: str | os.PathLike | None = None,
    ):
        self.info = read_ir(ir_dir, FAMILY)
        self.labels: LabelSet = LABEL_SETS[self.info.param("dataset")]
        self.input_size: tuple[int, int] = tuple(self.info.param("input_size"))
        self.model_id = self.info.model_id
        self.palette = palette(self.labels.num_classes)
        xml = os.path.join(ir_dir, f"{IR_NAME}.xml")
        self._compiled = compile_ir(xml, device, threads=threads, cache_dir=cache_dir)
        self._output = self._compiled.output(OUTPUT_NAME)
        self._request = self._compiled.create_infer_request()

    @property
    def dataset(self) -> str:
        return self.labels.name

    def logits(self, bgr: np.ndarray) -> np.ndarray:
        """HxWxC float32 logits on the original image grid."""
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            raise ValueError(f"expected a uint8 HxWx3 BGR image, got {bgr.dtype} {bgr.shape}")
        height, width = bgr.shape[:2]
        matrix = transforms.letterbox_matrix(width, height, self.input_size)
        x = transforms.normalize(transforms.warp_to_input(bgr, matrix, self.input_size))
        out = self._request.infer({INPUT_NAME: x})[self._output]
        return transforms.warp_logits_back(out[0], transforms.inverse_matrix(matrix), width, height)

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        """uint8 HxW label map (class ids of this IR's label set)."""
        return transforms.labels_from_logits(self.logits(bgr))
