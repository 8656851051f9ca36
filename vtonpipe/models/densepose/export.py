"""DensePose checkpoint -> four static-shape OpenVINO IRs + model.json (convert extra only).

    backbone.xml        image (1, 3, H, W) normalised BGR canvas -> p2..p5, RPN logits/deltas p2..p6
    box_head.xml        pooled (B, C, 7, 7) -> person/background logits, person box deltas
    decoder.xml         p2..p5 -> stride-4 DensePose features (run only when a person is found)
    densepose_head.xml  pooled (1, C, 28, 28) -> coarse, fine, u, v at 112x112

The backbone/decoder IRs are exported at a static canvas (H, W). The runtime either reshapes them to
each image's padded-to-32 size (pad_mode "exact", detectron2's behaviour) or pads every image into
the canvas (pad_mode "canvas": one compile; features near the padding differ from detectron2's).
The default canvas, square with side max_size rounded up to 32, holds any resized image; 1088x800
is VITON-HD/DressCode's exact padded size (1024x768 -> 1067x800).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from vtonpipe.errors import ConfigError
from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.densepose import FAMILY
from vtonpipe.models.densepose.boxes import STRIDES
from vtonpipe.models.densepose.checkpoint import load_checkpoint
from vtonpipe.models.densepose.definition import (
    BackboneGraph,
    BoxGraph,
    DecoderGraph,
    DensePoseGraph,
    DensePoseRCNN,
)

DP_POOLER = 28
BACKBONE_OUTPUTS = ["p2", "p3", "p4", "p5"] + [
    f"{kind}_p{level}" for level in range(2, 7) for kind in ("objectness", "deltas")
]


def _ceil32(x: int) -> int:
    return -(-x // 32) * 32


def export_ir(
    model: DensePoseRCNN,
    out_dir: str | Path,
    *,
    canvas: tuple[int, int],
    min_size: int = 800,
    max_size: int = 1333,
    box_batch: int = 100,
    sources: list[str | Path] = (),
    variant: str = "R_50_FPN_s1x",
) -> Path:
    """Write the four IRs and model.json into out_dir; returns out_dir."""
    h, w = canvas
    if h % 32 or w % 32:
        raise ConfigError(f"canvas {h}x{w} must be a multiple of 32 on both sides")
    cfg = model.cfg
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    level_shape = {f"p{lvl}": [1, cfg.fpn_channels, h // s, w // s] for lvl, s in zip(range(2, 6), STRIDES)}
    specs = {
        "backbone": (BackboneGraph(model), {"image": [1, 3, h, w]}, BACKBONE_OUTPUTS),
        "box_head": (BoxGraph(model), {"pooled": [box_batch, cfg.fpn_channels, cfg.box_pooler, cfg.box_pooler]},
                     ["cls_logits", "box_deltas"]),
        "decoder": (DecoderGraph(model), level_shape, ["features"]),
        "densepose_head": (DensePoseGraph(model), {"pooled": [1, cfg.decoder_dims, DP_POOLER, DP_POOLER]},
                           ["coarse_segm", "fine_segm", "u", "v"]),
    }
    for name, (module, inputs, outputs) in specs.items():
        example = tuple(torch.zeros(shape) for shape in inputs.values())
        save_ir(to_openvino(module, example, list(inputs), outputs, method="trace"), out / name)
    write_model_json(
        out,
        family=FAMILY,
        variant=variant,
        inputs={name: spec[1] for name, spec in specs.items()},
        precision="fp32",
        sources=list(sources),
        extra={
            "canvas": [h, w],
            "min_size": min_size,
            "max_size": max_size,
            "box_batch": box_batch,
            "box_pooler": cfg.box_pooler,
            "densepose_pooler": DP_POOLER,
            "config": dataclasses.asdict(cfg),
        },
    )
    return out


def _canvas(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"canvas must look like 1088x800, got {text!r}") from None
    return h, w


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, help="model_final_162be9.pkl (detectron2 DensePose R50-FPN)")
    parser.add_argument("--out", required=True, help="IR folder to write")
    parser.add_argument("--min-size", type=int, default=800, help="shortest edge after resizing (default 800)")
    parser.add_argument("--max-size", type=int, default=1333, help="longest edge cap (default 1333)")
    parser.add_argument("--canvas", type=_canvas, default=None,
                        help="static input HxW, multiples of 32 (default: square, max-size rounded up)")
    parser.add_argument("--box-batch", type=int, default=100, help="proposals per box-head call (static)")


def convert_from_args(args: argparse.Namespace, calibration=None) -> Path:
    """`vtonpipe models convert densepose` (no INT8 path: `calibration` is unused)."""
    side = _ceil32(args.max_size)
    return export_ir(load_checkpoint(args.weights), args.out, canvas=args.canvas or (side, side),
                     min_size=args.min_size, max_size=args.max_size, box_batch=args.box_batch, sources=[args.weights])
