"""Official TorchScript Inception -> OpenVINO IR of clean-fid's feature path (static shapes)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.inception import FAMILY, FEATURE_DIM, INPUT_SIZE, IR_NAME, WEIGHTS_FILE
from vtonpipe.models.inception.checkpoint import load_checkpoint, resolve_weights
from vtonpipe.models.inception.definition import CleanInceptionFeatures


def export_ir(
    network: torch.jit.ScriptModule, out_dir: str | os.PathLike, *, batch: int = 1, variant: str = "2015-12-05",
    sources: list[str | os.PathLike] = (),
) -> Path:
    """Convert the loaded archive (load_checkpoint's result) into the IR folder `out_dir`; returns it."""
    out_dir = Path(out_dir)
    shape = [batch, 3, INPUT_SIZE, INPUT_SIZE]
    # A scripted archive cannot go through torch.export: trace it.
    ov_model = to_openvino(CleanInceptionFeatures(network), (torch.zeros(shape),), ["images"], ["features"],
                           method="trace")
    feature_dim = int(ov_model.outputs[0].get_partial_shape()[1].get_length())
    if variant != "tiny" and feature_dim != FEATURE_DIM:
        raise ModelFilesError(f"{WEIGHTS_FILE} gives {feature_dim} features, not Inception's {FEATURE_DIM}")
    save_ir(ov_model, out_dir / IR_NAME, compress_to_fp16=False)
    write_model_json(
        out_dir,
        family=FAMILY,
        variant=variant,
        inputs={IR_NAME: {"images": shape}},
        precision="fp32",
        sources=list(sources),
        extra={
            "feature_dim": feature_dim,
            "preprocess": "clean-fid clean: PIL bicubic per float32 channel to 299x299, (x - 128) / 128",
        },
    )
    return out_dir


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        required=True,
        help=f"local path of clean-fid's {WEIGHTS_FILE} (or its folder). It is a TorchScript archive: "
        "loading it runs code it contains, so give only a file from a source you trust; "
        "vtonpipe never downloads it",
    )
    parser.add_argument("--out", required=True, help="IR folder to write (e.g. models/inception)")
    parser.add_argument("--batch", type=int, default=1, help="static batch size of the IR (default 1)")


def convert_from_args(args: argparse.Namespace, calibration=None) -> Path:
    """`vtonpipe models convert inception` (no INT8 path: `calibration` is unused)."""
    weights = resolve_weights(args.weights)
    return export_ir(load_checkpoint(weights), args.out, batch=args.batch, sources=[weights])
