"""DM-VTON checkpoints -> one OpenVINO IR (``tryon.xml/.bin``) + model.json (the `convert` extra).

    vtonpipe models convert dmvton --weights checkpoints --out models/dmvton
    vtonpipe models convert dmvton --weights checkpoints --out models/dmvton-int8 --int8
    vtonpipe models convert dmvton --weights checkpoints --out models/dmvton-p50 --prune 0.5

model.json parameters: height, width, batch, rounding ("half_up"), mask_threshold, align_corners,
pruning (null, or the ratio and the widths before and after), int8 (calibration details, when
quantized).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vtonpipe.models.common.appearance_flow import ParserFreeTryOn
from vtonpipe.models.common.parser_free_export import (
    DEFAULT_SIZE,
    Calibration,
    Pair,
    add_export_arguments,
    convert,
    export_tryon_ir,
)
from vtonpipe.models.dmvton import FAMILY, INPUT_NAMES, IR_NAME, OUTPUT_NAME, ROUNDING, WEIGHTS
from vtonpipe.models.dmvton.checkpoint import DMVTONCheckpoint, load_checkpoint
from vtonpipe.models.dmvton.pruning import prune_warp


def export_ir(
    loaded: DMVTONCheckpoint,
    out_dir: str | os.PathLike,
    *,
    height: int = DEFAULT_SIZE[0],
    width: int = DEFAULT_SIZE[1],
    batch: int = 1,
    prune: float = 0.0,
    calibration: list[Pair] | None = None,
    variant: str = "official",
) -> Path:
    """Write the IR folder of loaded networks; `prune` > 0 narrows the warp first, `calibration`
    pairs quantize the IR to INT8."""
    warp, pruning = loaded.warp, None
    if prune:
        warp, pruning = prune_warp(warp, prune)
    return export_tryon_ir(
        ParserFreeTryOn(warp, loaded.generator), out_dir, family=FAMILY, ir_name=IR_NAME, input_names=INPUT_NAMES,
        output_name=OUTPUT_NAME, rounding=ROUNDING, sources=loaded.sources, variant=variant, height=height,
        width=width, batch=batch, calibration=calibration, extra={"pruning": pruning},
    )


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    add_export_arguments(parser, WEIGHTS)
    parser.add_argument(
        "--prune", type=float, default=0.0, metavar="RATIO",
        help="drop this fraction (0-1) of the channels of the warp's costliest convolutions (the pyramids' "
             "shared 3x3 smoothing conv and the finest refine head's first conv, about 63%% of the FLOPs), "
             "ranked by filter L1 norm. There is no fine-tuning afterwards, so try-on quality drops with the "
             "ratio: compare against the unpruned IR before using it")


def convert_from_args(args: argparse.Namespace, calibration: Calibration | None = None) -> Path:
    """`vtonpipe models convert dmvton`: `calibration` supplies the pairs --int8 calibrates on."""
    return convert(args, calibration, load_checkpoint, export_ir, prune=args.prune)
