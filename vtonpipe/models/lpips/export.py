"""LPIPS-squeeze official files -> OpenVINO IR (static shapes; the runtime may reshape)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.lpips import BACKBONE_FILE, FAMILY, IR_NAME, LIN_FILE
from vtonpipe.models.lpips.checkpoint import load_checkpoint, resolve_files
from vtonpipe.models.lpips.definition import LpipsSqueeze

# CatVTON evaluates at its inference resolution, 512x384 (H x W) for the dataset models.
DEFAULT_SIZE = (512, 384)


def export_ir(
    model: LpipsSqueeze,
    out_dir: str | os.PathLike,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    variant: str = "squeeze-v0.1",
    sources: list[str | os.PathLike] = (),
) -> Path:
    """Convert the loaded network into the IR folder `out_dir` at image size `size` (H, W)."""
    out_dir = Path(out_dir)
    shape = [1, 3, int(size[0]), int(size[1])]
    example = (torch.zeros(shape), torch.zeros(shape))
    ov_model = to_openvino(model, example, ["img0", "img1"], ["distance"], method="trace")
    save_ir(ov_model, out_dir / IR_NAME, compress_to_fp16=False)
    write_model_json(
        out_dir,
        family=FAMILY,
        variant=variant,
        inputs={IR_NAME: {"img0": shape, "img1": shape}},
        precision="fp32",
        sources=list(sources),
        extra={"convention": "torchmetrics LPIPS net_type='squeeze', inputs in [-1, 1]"},
    )
    return out_dir


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        required=True,
        help=f"folder holding {BACKBONE_FILE} (torchvision) and {LIN_FILE} (lpips package, v0.1)",
    )
    parser.add_argument("--backbone", help=f"path of {BACKBONE_FILE} if not in --weights")
    parser.add_argument("--lin", help=f"path of {LIN_FILE} if not in --weights")
    parser.add_argument("--out", required=True, help="IR folder to write (e.g. models/lpips)")
    parser.add_argument(
        "--size", type=int, nargs=2, default=list(DEFAULT_SIZE), metavar=("H", "W"),
        help="static image size of the IR (default 512 384; other sizes are reshaped at run time)",
    )


def convert_from_args(args: argparse.Namespace, calibration=None) -> Path:
    """`vtonpipe models convert lpips` (no INT8 path: `calibration` is unused)."""
    files = resolve_files(args.backbone or args.weights, args.lin or args.weights)
    return export_ir(load_checkpoint(*files), args.out, size=tuple(args.size), sources=list(files))
