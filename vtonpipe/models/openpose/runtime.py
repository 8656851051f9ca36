"""OpenPose body estimation on OpenVINO: BGR image in, every detected person's COCO-18 keypoints out.

No torch: the network runs from the IR, pre-processing and map upsampling follow the chosen code
variant (resize.py), the post-processing is the ports' (postprocess.py).

The demo wrapper of OOTDiffusion / the StableVITON Space / IDM-VTON converts its result to 18
points by walking the flat candidate list once, inserting [0, 0] for missing parts and popping
candidates whose id differs from the part index; with a second person or extra peaks that walk
takes other candidates' positions. Here each person's keypoints are read from its own candidate
ids, in image pixels (the wrapper returns a 384x512 frame and only the first person).
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np
import openvino as ov

from vtonpipe.models.common.ir import compile_ir, read_ir
from vtonpipe.models.openpose import FAMILY, INPUT_NAME, IR_NAME, OUTPUT_HEATMAPS, OUTPUT_PAFS
from vtonpipe.models.openpose.postprocess import Person, estimate, people_from
from vtonpipe.models.openpose.resize import VARIANTS, full_resolution_maps, network_input

_Compiled = tuple[ov.InferRequest, ov.ConstOutput, ov.ConstOutput]  # request, heatmaps port, PAFs port


class OpenPoseRuntime:
    """One OpenPose body IR. ``runtime(bgr)`` -> list of Person (assembly order, possibly empty).

    The IR is static at the shape it was exported with (184 high; 144 wide fits 3:4 portraits);
    other network-input sizes are reshaped and compiled on first use and the last
    `compiled_sizes` of them are kept. `variant` picks the resampling chain: "controlnet11"
    (default; what OOTDiffusion, the StableVITON Space and IDM-VTON run) or "controlnet10"
    (pytorch-openpose and ControlNet 1.0).
    """

    def __init__(
        self,
        ir_dir: str | os.PathLike,
        device: str = "CPU",
        *,
        threads: int | None = None,
        cache_dir: str | os.PathLike | None = None,
        variant: str = "controlnet11",
        compiled_sizes: int = 4,
    ):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.info = read_ir(ir_dir, FAMILY)
        self.model_id = self.info.model_id
        self.variant = variant
        self._device, self._threads, self._cache_dir = device, threads, cache_dir
        self._xml = self.info.xml(IR_NAME)
        self._model: ov.Model | None = None
        self._limit = max(1, compiled_sizes)
        self._requests: OrderedDict[tuple[int, int], _Compiled] = OrderedDict()
        self._request(tuple(self.info.shape(IR_NAME, INPUT_NAME)[2:]))

    def _request(self, size: tuple[int, int]) -> _Compiled:
        """(infer request, heatmaps port, PAFs port) for a network input of `size` (height, width),
        compiled on first use."""
        if size in self._requests:
            self._requests.move_to_end(size)
            return self._requests[size]
        if list(size) == self.info.shape(IR_NAME, INPUT_NAME)[2:]:
            compiled = compile_ir(self._xml, self._device, threads=self._threads, cache_dir=self._cache_dir)
        else:
            if self._model is None:
                self._model = ov.Core().read_model(str(self._xml))
            self._model.reshape({INPUT_NAME: ov.PartialShape([1, 3, *size])})
            compiled = compile_ir(self._model, self._device, threads=self._threads, cache_dir=self._cache_dir)
        self._requests[size] = (compiled.create_infer_request(), compiled.output(OUTPUT_HEATMAPS),
                                compiled.output(OUTPUT_PAFS))
        if len(self._requests) > self._limit:
            self._requests.popitem(last=False)
        return self._requests[size]

    def network(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network input [1,3,H,W] -> (heatmaps [19,H/8,W/8], PAFs [38,H/8,W/8]) float32."""
        request, heatmaps, pafs = self._request(tuple(x.shape[2:]))
        out = request.infer({INPUT_NAME: x})
        return np.array(out[heatmaps][0]), np.array(out[pafs][0])

    def maps(self, bgr: np.ndarray):
        """The full-resolution maps of an image (resize.LanczosMaps or resize.DenseMaps)."""
        x, geometry = network_input(bgr, self.variant)
        heatmaps, pafs = self.network(x)
        return full_resolution_maps(heatmaps, pafs, geometry, self.variant)

    def candidates(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ports' raw result: (candidate (N,4) [x, y, score, id], subset (M,20))."""
        return estimate(self.maps(bgr))

    def __call__(self, bgr: np.ndarray) -> list[Person]:
        """Every person found in a uint8 HxWx3 BGR image, keypoints in its pixels."""
        return people_from(*self.candidates(bgr))
