"""NNCF INT8 post-training quantization of an IR on captured inputs, and swapping an IR file
pair in place (convert extra: nncf). Shared by the diffusion families' `--int8`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import openvino as ov

from vtonpipe.models.common.ir import save_ir


def quantize_ptq(model: ov.Model, samples: list[dict[str, np.ndarray]], *, quantize_attention: bool = False) -> ov.Model:
    """NNCF INT8 PTQ (transformer preset) calibrated on `samples` (input name -> array).

    Fused attention stays in float unless asked: quantized it ran slower on CPUs without VNNI.
    """
    import nncf

    ignored = None if quantize_attention else nncf.IgnoredScope(types=["ScaledDotProductAttention"], validate=False)
    return nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples),
                         model_type=nncf.ModelType.TRANSFORMER, ignored_scope=ignored)


def replace_ir(model: ov.Model, stem: str | os.PathLike) -> None:
    """Write `model` as <stem>.xml/.bin beside the old pair, then swap: a reader never sees half
    an IR, and the old .bin is not mapped while the new one is written."""
    stem = Path(stem)
    tmp = Path(tempfile.mkdtemp(dir=stem.parent, prefix=".ir-"))
    try:
        save_ir(model, tmp / stem.name, compress_to_fp16=False)
        for suffix in (".xml", ".bin"):
            os.replace(tmp / f"{stem.name}{suffix}", stem.with_suffix(suffix))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
