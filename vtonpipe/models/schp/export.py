"""SCHP checkpoint -> static-shape OpenVINO IR folder (``schp.xml/.bin`` + ``model.json``).

    vtonpipe models convert schp --weights exp-schp-201908261155-lip.pth --out models/schp-lip
    vtonpipe models convert schp --weights exp-schp-201908301523-atr.pth --out models/schp-atr --int8

The IR takes a 1x3xSxS normalised BGR image ("image") and returns the fusion-head logits
upsampled to SxS ("logits"); letterboxing and the inverse affine stay in runtime.py.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import openvino as ov
import torch

from vtonpipe.labels.parsing import LABEL_SETS, LabelSet
from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.schp import FAMILY, INPUT_NAME, IR_NAME, OUTPUT_NAME
from vtonpipe.models.schp.checkpoint import OFFICIAL_FILES, load_checkpoint
from vtonpipe.models.schp.definition import SCHPNet, SCHPParser
from vtonpipe.models.schp.transforms import MEAN_BGR, STD_BGR


def compress_int8(ov_model: ov.Model) -> ov.Model:
    """NNCF INT8 weight-only compression (activations stay fp32)."""
    import nncf  # the convert extra; only needed for --int8

    return nncf.compress_weights(ov_model)


def export_ir(
    loaded: tuple[SCHPNet, LabelSet],
    out_dir: str | os.PathLike,
    *,
    input_size: int | None = None,
    int8: bool = False,
    sources: Sequence[str | os.PathLike] = (),
    variant: str | None = None,
) -> Path:
    """Write the IR folder for a loaded network (load_checkpoint's result) and return its path.

    The IR holds the network with its upsampling head at a fixed square input size.
    """
    model, labels = loaded
    out_dir = Path(out_dir)
    size = int(input_size or labels.input_size)
    ov_model = to_openvino(SCHPParser(model.eval()), (torch.zeros(1, 3, size, size),), [INPUT_NAME], [OUTPUT_NAME])
    if int8:
        ov_model = compress_int8(ov_model)
    save_ir(ov_model, out_dir / IR_NAME, compress_to_fp16=False)
    write_model_json(
        out_dir,
        family=FAMILY,
        variant=variant or labels.name,
        inputs={IR_NAME: {INPUT_NAME: [1, 3, size, size]}},
        precision="int8-weights" if int8 else "fp32",
        sources=list(sources),
        extra={
            "dataset": labels.name,
            "classes": list(labels.classes),
            "input_size": [size, size],
            "mean_bgr": MEAN_BGR.tolist(),
            "std_bgr": STD_BGR.tolist(),
            "output": OUTPUT_NAME,
        },
    )
    return out_dir


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    files = ", ".join(OFFICIAL_FILES.values())
    parser.add_argument("--weights", required=True, help=f"official SCHP checkpoint ({files})")
    parser.add_argument("--out", required=True, help="IR folder to write (e.g. models/schp-lip)")
    parser.add_argument(
        "--dataset",
        choices=sorted(LABEL_SETS),
        default=None,
        help="label set of the checkpoint (default: 'lip' or 'atr' in the file name)",
    )
    parser.add_argument(
        "--input-size",
        type=int,
        default=None,
        help="square network input size (default: 473 for LIP, 512 for ATR, as trained)",
    )
    parser.add_argument("--int8", action="store_true", help="compress weights to INT8 with NNCF")


def convert_from_args(args: argparse.Namespace, calibration=None) -> Path:
    """`vtonpipe models convert schp` (INT8 here is weight-only: no calibration pairs needed)."""
    return export_ir(load_checkpoint(args.weights, args.dataset), args.out, input_size=args.input_size,
                     int8=args.int8, sources=[args.weights])
