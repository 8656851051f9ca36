"""OpenPose body network -> static-shape OpenVINO IR folder (``openpose_body.xml/.bin`` + ``model.json``).

    vtonpipe models convert openpose --weights body_pose_model.pth --out models/openpose

The IR holds the network alone: input "image" [1,3,184,W] (BGR / 256 - 0.5), outputs "pafs"
[1,38,23,W/8] and "heatmaps" [1,19,23,W/8]. It is fully convolutional; the default width 144 is
the padded input of any 3:4 portrait at the default scale, and the runtime reshapes the IR for
other widths.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.openpose import FAMILY, INPUT_NAME, IR_NAME, OUTPUT_HEATMAPS, OUTPUT_PAFS, WEIGHTS_FILE
from vtonpipe.models.openpose.checkpoint import load_checkpoint
from vtonpipe.models.openpose.definition import BodyPoseNet
from vtonpipe.models.openpose.resize import BOX_SIZE, SCALE, STRIDE

NET_HEIGHT = int(SCALE * BOX_SIZE)  # 184, a multiple of STRIDE
DEFAULT_WIDTH = 144  # 3:4 portraits: 138 wide at the network scale, padded to 144


def export_ir(
    model: BodyPoseNet,
    out_dir: str | os.PathLike,
    *,
    width: int = DEFAULT_WIDTH,
    sources: Sequence[str | os.PathLike] = (),
    variant: str = "body-coco18",
) -> Path:
    """Write the IR folder of a loaded network at input [1, 3, 184, width] and return it."""
    if width % STRIDE or width <= 0:
        raise ValueError(f"width must be a positive multiple of {STRIDE}, got {width}")
    out_dir = Path(out_dir)
    example = (torch.zeros(1, 3, NET_HEIGHT, width),)
    ov_model = to_openvino(model.eval(), example, [INPUT_NAME], [OUTPUT_PAFS, OUTPUT_HEATMAPS])
    save_ir(ov_model, out_dir / IR_NAME)
    write_model_json(
        out_dir,
        family=FAMILY,
        variant=variant,
        inputs={IR_NAME: {INPUT_NAME: [1, 3, NET_HEIGHT, width]}},
        precision="fp32",
        sources=list(sources),
        extra={"keypoints": "coco18", "channel_width": model.cfg.width, "stride": STRIDE,
               "outputs": [OUTPUT_PAFS, OUTPUT_HEATMAPS]},
    )
    return out_dir


def convert(weights: str | os.PathLike, out_dir: str | os.PathLike, *, width: int = DEFAULT_WIDTH,
            variant: str = "body-coco18") -> Path:
    """Load ``body_pose_model.pth`` (or a file in its layout) and export it."""
    return export_ir(load_checkpoint(weights), out_dir, width=width, sources=[weights], variant=variant)


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, help=f"the OpenPose body model ({WEIGHTS_FILE})")
    parser.add_argument("--out", required=True, help="IR folder to write (e.g. models/openpose)")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH,
                        help="static network-input width (default 144, 3:4 portraits; the runtime reshapes for others)")


def convert_from_args(args: argparse.Namespace, calibration=None) -> Path:
    """`vtonpipe models convert openpose`; fp32 only, so `calibration` is unused."""
    return convert(args.weights, args.out, width=args.width)
