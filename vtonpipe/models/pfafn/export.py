"""PF-AFN checkpoints -> one OpenVINO IR (``tryon.xml/.bin``) + model.json (the `convert` extra).

    vtonpipe models convert pfafn --weights checkpoints --out models/pfafn
    vtonpipe models convert pfafn --weights checkpoints --out models/pfafn-int8 --int8

model.json parameters: height, width, batch, rounding ("truncate"), mask_threshold,
align_corners, int8 (calibration details, when quantized).
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
from vtonpipe.models.pfafn import FAMILY, INPUT_NAMES, IR_NAME, OUTPUT_NAME, ROUNDING, WEIGHTS
from vtonpipe.models.pfafn.checkpoint import PFAFNCheckpoint, load_checkpoint


def export_ir(
    loaded: PFAFNCheckpoint,
    out_dir: str | os.PathLike,
    *,
    height: int = DEFAULT_SIZE[0],
    width: int = DEFAULT_SIZE[1],
    batch: int = 1,
    calibration: list[Pair] | None = None,
    variant: str = "official",
) -> Path:
    """Write the IR folder of loaded networks; `calibration` pairs quantize it to INT8."""
    return export_tryon_ir(
        ParserFreeTryOn(loaded.warp, loaded.generator), out_dir, family=FAMILY, ir_name=IR_NAME,
        input_names=INPUT_NAMES, output_name=OUTPUT_NAME, rounding=ROUNDING, sources=loaded.sources,
        variant=variant, height=height, width=width, batch=batch, calibration=calibration,
    )


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    add_export_arguments(parser, WEIGHTS)


def convert_from_args(args: argparse.Namespace, calibration: Calibration | None = None) -> Path:
    """`vtonpipe models convert pfafn`: `calibration` supplies the pairs --int8 calibrates on."""
    return convert(args, calibration, load_checkpoint, export_ir)
