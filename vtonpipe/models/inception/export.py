"""Official TorchScript Inception -> OpenVINO IR of clean-fid's feature path (static shapes)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import openvino as ov
import torch

from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.errors import ModelFilesError
from vtonpipe.models.inception import FAMILY, FEATURE_DIM, INPUT_SIZE, WEIGHTS_FILE
from vtonpipe.models.inception.checkpoint import load_inception, resolve_weights
from vtonpipe.models.inception.definition import CleanInceptionFeatures

IR_NAME = "inception"


def convert_inception(
    weights: str | os.PathLike, out_dir: str | os.PathLike, *, batch: int = 1, variant: str = "2015-12-05"
) -> Path:
    """Convert the archive at `weights` into the IR folder `out_dir`; returns `out_dir`."""
    weights = resolve_weights(weights)
    out_dir = Path(out_dir)
    model = CleanInceptionFeatures(load_inception(weights)).eval()
    shape = [batch, 3, INPUT_SIZE, INPUT_SIZE]
    with torch.no_grad():
        ov_model = ov.convert_model(model, example_input=torch.zeros(shape), input=[shape])
    ov_model.inputs[0].get_tensor().set_names({"images"})
    ov_model.outputs[0].get_tensor().set_names({"features"})
    feature_dim = int(ov_model.outputs[0].get_partial_shape()[1].get_length())
    if variant != "tiny" and feature_dim != FEATURE_DIM:
        raise ModelFilesError(f"{weights} gives {feature_dim} features, not Inception's {FEATURE_DIM}")
    save_ir(ov_model, out_dir / IR_NAME, compress_to_fp16=False)
    write_model_json(
        out_dir,
        family=FAMILY,
        variant=variant,
        inputs={IR_NAME: {"images": shape}},
        precision="fp32",
        sources=[weights],
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


def convert_from_args(args: argparse.Namespace) -> Path:
    return convert_inception(args.weights, args.out, batch=args.batch)
