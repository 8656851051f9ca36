"""DensePose R50-FPN inference with OpenVINO and numpy (no torch, no detectron2).

``DensePoseRuntime(ir_dir)(bgr)`` returns a :class:`DensePoseResult` for the top-scoring person,
or ``None`` when no detection scores above the threshold: finding nobody is an ordinary outcome
that callers turn into their own error (the stage writes a "no_person" error row).

Steps, as detectron2 runs densepose_rcnn_R_50_FPN_s1x at test time:
resize (shortest edge, PIL bilinear) -> subtract BGR mean -> zero-pad (see below) ->
backbone IR -> anchors, top 1000 per level, clip, per-level NMS 0.7, top 1000 ->
ROIAlign 7x7 per FPN level -> box head IR -> softmax, decode (10, 10, 5, 5), clip, score > threshold,
NMS 0.5, top 100 -> decoder IR -> ROIAlign 28x28 of the top box -> DensePose head IR ->
labels = argmax(fine) * (argmax(coarse) > 0) resampled into the box (original image frame).

Padding: ``pad_mode="exact"`` (default) pads to a multiple of 32 as detectron2 does and compiles the
backbone/decoder IRs reshaped to that size (a few sizes kept compiled); ``"canvas"`` pads every image
into the IR's exported canvas (one compile, but features near the padding differ from detectron2's).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
from PIL import Image

from vtonpipe.models.common.ir import compile_ir, read_ir
from vtonpipe.models.densepose import FAMILY
from vtonpipe.models.densepose import boxes as B
from vtonpipe.models.densepose.pooling import multilevel_roi_align, roi_align

PAD_MODES = ("exact", "canvas")
SIZED_IRS = ("backbone", "decoder")
MAX_SIZED = 4
PIXEL_MEAN_BGR = np.array([103.53, 116.28, 123.675], dtype=np.float32)
RPN_PRE_NMS_TOPK, RPN_POST_NMS_TOPK, RPN_NMS = 1000, 1000, 0.7
BOX_NMS, MAX_DETECTIONS = 0.5, 100


class CanvasTooSmall(ValueError):
    """The resized image does not fit the IR's static canvas (re-export with a larger --canvas)."""


@dataclass
class DensePoseResult:
    """Top person: part ids 0-24 in the original image frame, its box (x0, y0, x1, y1) and score.

    ``boxes``/``scores`` hold every detection above the threshold after NMS, best first.
    """

    parts: np.ndarray
    box: tuple[float, float, float, float]
    score: float
    boxes: np.ndarray
    scores: np.ndarray


@dataclass
class Detections:
    """Detector output in the resized frame (before mapping back to the original image)."""

    boxes: np.ndarray
    scores: np.ndarray


class DensePoseRuntime:
    """Compiled DensePose IRs of one folder; call it on a uint8 HxWx3 BGR image."""

    def __init__(self, ir_dir: str | os.PathLike, device: str = "CPU", threads: int | None = None,
                 cache_dir: str | os.PathLike | None = None, score_threshold: float = 0.8,
                 pad_mode: str = "exact"):
        if pad_mode not in PAD_MODES:
            raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
        self.ir_dir = Path(ir_dir)
        self.info = read_ir(self.ir_dir, FAMILY)
        self.model_id = self.info.model_id
        self.canvas = tuple(self.info.param("canvas"))
        self.min_size = int(self.info.param("min_size"))
        self.max_size = int(self.info.param("max_size"))
        self.box_batch = int(self.info.param("box_batch"))
        self.box_pooler = int(self.info.param("box_pooler"))
        self.dp_pooler = int(self.info.param("densepose_pooler"))
        self.score_threshold = float(score_threshold)
        self.pad_mode = pad_mode
        self._compile = dict(device=device, threads=threads, cache_dir=cache_dir)
        self.models = {name: compile_ir(self.ir_dir / f"{name}.xml", device, threads=threads, cache_dir=cache_dir)
                       for name in self.info.inputs}
        # Backbone and decoder compiled per padded input size ("exact" mode), most recent last.
        self._sized: OrderedDict[tuple[int, int], dict[str, ov.CompiledModel]] = OrderedDict()
        self._sized[self.canvas] = {name: self.models[name] for name in SIZED_IRS}

    def _sized_models(self, padded: tuple[int, int]) -> dict[str, ov.CompiledModel]:
        """Backbone and decoder for one static input size: the exported canvas, or a reshaped copy."""
        if padded not in self._sized:
            h, w = padded
            core = ov.Core()
            compiled = {}
            for name in SIZED_IRS:
                model = core.read_model(self.ir_dir / f"{name}.xml")
                shapes = {"image": [1, 3, h, w]} if name == "backbone" else {
                    f"p{lvl}": [1, model.input(f"p{lvl}").shape[1], h // s, w // s]
                    for lvl, s in zip(range(2, 6), B.STRIDES)
                }
                model.reshape(shapes)
                compiled[name] = compile_ir(model, **self._compile)
            self._sized[padded] = compiled
            while len(self._sized) > MAX_SIZED:
                self._sized.popitem(last=False)
        self._sized.move_to_end(padded)
        return self._sized[padded]

    def _run(self, name: str, *inputs: np.ndarray) -> dict[str, np.ndarray]:
        compiled = self.models[name]
        if name in SIZED_IRS:
            compiled = self._sized_models(tuple(inputs[0].shape[2:]) if name == "backbone" else
                                          (inputs[0].shape[2] * B.STRIDES[0], inputs[0].shape[3] * B.STRIDES[0]))[name]
        result = compiled(list(inputs))
        return {next(iter(port.get_names())): result[port] for port in compiled.outputs}

    # -- stages, public so tests can compare each one with the torch definition ----------------
    def preprocess(self, bgr: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """(1, 3, H, W) float32 padded input and the (h, w) the image was resized to."""
        if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise ValueError("expected a uint8 HxWx3 BGR image")
        h, w = B.resized_shape(bgr.shape[0], bgr.shape[1], self.min_size, self.max_size)
        padded = (-(-h // 32) * 32, -(-w // 32) * 32) if self.pad_mode == "exact" else self.canvas
        if h > padded[0] or w > padded[1]:
            raise CanvasTooSmall(
                f"image resized to {h}x{w} does not fit the {self.canvas[0]}x{self.canvas[1]} IR canvas; "
                "re-export with a larger --canvas"
            )
        resized = np.asarray(Image.fromarray(bgr).resize((w, h), Image.BILINEAR), dtype=np.float32)
        canvas = np.zeros((1, 3, *padded), dtype=np.float32)
        canvas[0, :, :h, :w] = (resized - PIXEL_MEAN_BGR).transpose(2, 0, 1)
        return canvas, (h, w)

    def backbone(self, canvas: np.ndarray) -> dict[str, np.ndarray]:
        return self._run("backbone", canvas)

    def proposals(self, feats: dict[str, np.ndarray], image_size: tuple[int, int]) -> np.ndarray:
        """RPN proposals (N, 4) in the resized frame, best first."""
        all_boxes, all_logits, all_levels = [], [], []
        for i, (stride, size) in enumerate(zip(B.STRIDES, B.ANCHOR_SIZES)):
            logits = feats[f"objectness_p{i + 2}"][0]
            a, h, w = logits.shape
            logits = logits.transpose(1, 2, 0).reshape(-1)
            deltas = feats[f"deltas_p{i + 2}"][0].reshape(a, 4, h, w).transpose(2, 3, 0, 1).reshape(-1, 4)
            top = np.argsort(-logits, kind="stable")[:RPN_PRE_NMS_TOPK]
            anchors = B.grid_anchors(h, w, stride, size)[top]
            all_boxes.append(B.decode(deltas[top], anchors, B.RPN_WEIGHTS))
            all_logits.append(logits[top])
            all_levels.append(np.full(top.size, i))
        boxes, logits, levels = (np.concatenate(x) for x in (all_boxes, all_logits, all_levels))
        valid = np.isfinite(boxes).all(axis=1) & np.isfinite(logits)
        boxes = B.clip(boxes[valid], *image_size)
        logits, levels = logits[valid], levels[valid]
        keep = B.nonempty(boxes)
        boxes, logits, levels = boxes[keep], logits[keep], levels[keep]
        keep = B.batched_nms(boxes, logits, levels, RPN_NMS)[:RPN_POST_NMS_TOPK]
        return boxes[keep]

    def pool_boxes(self, feats: dict[str, np.ndarray], proposals: np.ndarray) -> np.ndarray:
        """(N, C, 7, 7) ROIAlign features, each box from its FPN level."""
        levels = B.pooler_levels(proposals)
        maps = [feats[f"p{lvl}"][0] for lvl in range(2, 6)]
        return multilevel_roi_align(maps, proposals, levels, B.STRIDES[:4], self.box_pooler)

    def box_head(self, pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class logits (N, 2) and box deltas (N, 4), run in static chunks of box_batch."""
        logits, deltas = [], []
        for start in range(0, len(pooled), self.box_batch):
            chunk = pooled[start:start + self.box_batch]
            padded = np.zeros((self.box_batch, *pooled.shape[1:]), dtype=np.float32)
            padded[: len(chunk)] = chunk
            out = self._run("box_head", padded)
            logits.append(out["cls_logits"][: len(chunk)])
            deltas.append(out["box_deltas"][: len(chunk)])
        if not logits:
            return np.zeros((0, 2), np.float32), np.zeros((0, 4), np.float32)
        return np.concatenate(logits), np.concatenate(deltas)

    def detect(self, feats: dict[str, np.ndarray], image_size: tuple[int, int]) -> Detections:
        """Person boxes and scores above the threshold in the resized frame, best first."""
        proposals = self.proposals(feats, image_size)
        logits, deltas = self.box_head(self.pool_boxes(feats, proposals))
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        scores = (exp / exp.sum(axis=1, keepdims=True))[:, 0]
        boxes = B.clip(B.decode(deltas, proposals, B.BOX_WEIGHTS), *image_size)
        valid = np.isfinite(boxes).all(axis=1) & np.isfinite(scores) & (scores > self.score_threshold)
        boxes, scores = boxes[valid], scores[valid]
        keep = B.nms(boxes, scores, BOX_NMS)[:MAX_DETECTIONS]
        return Detections(boxes[keep], scores[keep])

    def densepose_maps(self, feats: dict[str, np.ndarray], box: np.ndarray) -> dict[str, np.ndarray]:
        """coarse_segm (1, 2, 112, 112), fine_segm/u/v (1, 25, 112, 112) for one resized-frame box."""
        features = self._run("decoder", *(feats[f"p{lvl}"] for lvl in range(2, 6)))["features"]
        pooled = roi_align(features[0], box[None].astype(np.float32), self.dp_pooler, 1.0 / B.STRIDES[0])
        return self._run("densepose_head", pooled)

    def __call__(self, bgr: np.ndarray) -> DensePoseResult | None:
        canvas, size = self.preprocess(bgr)
        feats = self.backbone(canvas)
        dets = self.detect(feats, size)
        height, width = bgr.shape[:2]
        scale = np.array([width / size[1], height / size[0]] * 2, dtype=np.float32)
        boxes = B.clip(dets.boxes * scale, height, width)
        keep = B.nonempty(boxes)
        if not keep.any():
            return None
        top = int(np.flatnonzero(keep)[0])
        maps = self.densepose_maps(feats, dets.boxes[top])
        parts = paste_labels(maps["coarse_segm"][0], maps["fine_segm"][0], boxes[top], (height, width))
        return DensePoseResult(parts=parts, box=tuple(float(v) for v in boxes[top]), score=float(dets.scores[top]),
                               boxes=boxes[keep], scores=dets.scores[keep])


def _resize_chw(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear (half-pixel, no antialias) resize of a CHW float map, as torch's interpolate."""
    return cv2.resize(x.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)


def paste_labels(coarse: np.ndarray, fine: np.ndarray, box: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """uint8 part ids in the image frame: the box is truncated to integer x, y, w, h (as detectron2's
    make_int_box), the 112x112 maps are resampled to (h, w) and the labels pasted at (x, y)."""
    x, y = int(box[0]), int(box[1])
    w, h = max(int(box[2] - box[0]), 1), max(int(box[3] - box[1]), 1)
    fg = _resize_chw(coarse, h, w).argmax(axis=2) > 0
    labels = (_resize_chw(fine, h, w).argmax(axis=2) * fg).astype(np.uint8)
    out = np.zeros(image_size, dtype=np.uint8)
    region = out[y:y + h, x:x + w]
    region[...] = labels[: region.shape[0], : region.shape[1]]
    return out
