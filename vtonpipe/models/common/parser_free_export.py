"""Parser-free try-on networks -> one static OpenVINO IR plus model.json (the `convert` extra).

The IR holds the whole test-time forward (mask binarisation, warp, generator, composition):
inputs person and garment [B, 3, H, W] in [-1, 1] and garment_mask [B, 1, H, W] in [0, 1],
output the try-on [B, 3, H, W] in [-1, 1]. H and W are multiples of 32.

INT8 (NNCF post-training quantization) calibrates on pairs handed in by the caller: a callable
``calibration(n, height, width)`` returning n triples (person uint8 HxWx3 RGB, garment uint8
HxWx3 RGB, garment mask HxW uint8 0-255 or bool). Any size is accepted (pairs are prepared
exactly as the runtime prepares them); height x width avoids a resize.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import torch

from vtonpipe.errors import ConfigError
from vtonpipe.models.common.appearance_flow import ALIGN_CORNERS, MASK_THRESHOLD
from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.common.parser_free import batched_inputs, pair_inputs

Pair = tuple[np.ndarray, np.ndarray, np.ndarray]
Calibration = Callable[[int, int, int], Sequence[Pair]]
SIZE_MULTIPLE = 32
DEFAULT_SIZE = (256, 192)
DEFAULT_CALIBRATION_PAIRS = 16


def check_shape(height: int, width: int, batch: int) -> None:
    """ConfigError unless height and width are positive multiples of 32 and batch is positive."""
    if height <= 0 or width <= 0 or height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ConfigError(f"--height and --width must be positive multiples of {SIZE_MULTIPLE} "
                          f"(the networks downsample 32x), got {height}x{width}; the trained size is 256x192")
    if batch < 1:
        raise ConfigError(f"--batch must be at least 1, got {batch}")


def quantize(model: ov.Model, pairs: Sequence[Pair], *, height: int, width: int, batch: int,
             input_names: Sequence[str]) -> ov.Model:
    """NNCF INT8 PTQ of the IR's convolutions, calibrated on `pairs` prepared like the runtime does."""
    import nncf  # the convert extra; only --int8 needs it

    prepared = [pair_inputs(p, g, m, height, width) for p, g, m in pairs]
    samples = batched_inputs(prepared, batch, input_names)
    # The only MatMuls are the correlation's products of two activations: kept in fp32 (INT8
    # MatMul is no faster on CPUs without VNNI, and the cost volume steers every warp).
    ignored = nncf.IgnoredScope(types=["MatMul"], validate=False)
    return nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples), ignored_scope=ignored)


def calibration_pairs(calibration: Calibration | None, n: int, height: int, width: int) -> list[Pair]:
    """The pairs `calibration` returns, checked; ConfigError when there is no source or no pair."""
    if calibration is None:
        raise ConfigError("--int8 needs calibration pairs (person, garment, garment mask): pass a calibration "
                          "source to convert_from_args (`vtonpipe models convert` supplies pairs from a manifest "
                          "or synthetic ones)")
    if n < 1:
        raise ConfigError(f"--calib-size must be at least 1, got {n}")
    pairs = list(calibration(n, height, width))
    if not pairs:
        raise ConfigError("the calibration source returned no pairs; INT8 calibration needs at least one")
    bad = [i for i, pair in enumerate(pairs) if len(pair) != 3]
    if bad:
        raise ConfigError(f"calibration pairs {bad[:5]} are not (person, garment, garment_mask) triples")
    return pairs


def export_tryon_ir(
    tryon: torch.nn.Module,
    out_dir: str | os.PathLike,
    *,
    family: str,
    ir_name: str,
    input_names: Sequence[str],
    output_name: str,
    rounding: str,
    sources: Sequence[str | os.PathLike],
    variant: str,
    height: int = DEFAULT_SIZE[0],
    width: int = DEFAULT_SIZE[1],
    batch: int = 1,
    calibration: Sequence[Pair] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `<out_dir>/<ir_name>.xml/.bin` and model.json; INT8 when calibration pairs are given."""
    check_shape(height, width, batch)
    out_dir = Path(out_dir)
    example = (torch.zeros(batch, 3, height, width), torch.zeros(batch, 3, height, width),
               torch.zeros(batch, 1, height, width))
    model = to_openvino(tryon.eval(), example, input_names, [output_name])
    params: dict[str, Any] = {
        "height": height, "width": width, "batch": batch, "rounding": rounding,
        "mask_threshold": MASK_THRESHOLD, "align_corners": ALIGN_CORNERS, **(extra or {}),
    }
    if calibration:
        model = quantize(model, calibration, height=height, width=width, batch=batch, input_names=input_names)
        params["int8"] = {"method": "nncf.quantize", "calibration_pairs": len(calibration)}
    save_ir(model, out_dir / ir_name)
    write_model_json(
        out_dir, family=family, variant=variant, precision="int8" if calibration else "fp32",
        inputs={ir_name: {name: list(t.shape) for name, t in zip(input_names, example)}},
        sources=list(sources), extra=params,
    )
    return out_dir


def convert(args: argparse.Namespace, calibration: Calibration | None, load_checkpoint: Callable[[str], Any],
            export_ir: Callable[..., Path], **options: Any) -> Path:
    """`vtonpipe models convert <family>` for a parser-free family: check the size, load the
    official files, fetch calibration pairs when --int8 asks for them, export."""
    check_shape(args.height, args.width, args.batch)
    loaded = load_checkpoint(args.weights)
    pairs = calibration_pairs(calibration, args.calib_size, args.height, args.width) if args.int8 else None
    return export_ir(loaded, args.out, height=args.height, width=args.width, batch=args.batch,
                     calibration=pairs, variant=args.variant, **options)


def add_export_arguments(parser: argparse.ArgumentParser, weights_help: str) -> None:
    """The options every parser-free family's `models convert` takes."""
    parser.add_argument("--weights", required=True, help=weights_help)
    parser.add_argument("--out", required=True, help="IR folder to write")
    parser.add_argument("--height", type=int, default=DEFAULT_SIZE[0],
                        help="IR height, a multiple of 32 (default 256, the trained size)")
    parser.add_argument("--width", type=int, default=DEFAULT_SIZE[1],
                        help="IR width, a multiple of 32 (default 192, the trained size)")
    parser.add_argument("--batch", type=int, default=1, help="pairs per IR call (the IR is static)")
    parser.add_argument("--variant", default="official", help="name recorded in model.json (default: official)")
    parser.add_argument("--int8", action="store_true",
                        help="NNCF INT8 post-training quantization of the whole IR, calibrated on --calib-size pairs")
    parser.add_argument("--calib-size", type=int, default=DEFAULT_CALIBRATION_PAIRS,
                        help=f"calibration pairs for --int8 (default {DEFAULT_CALIBRATION_PAIRS})")
