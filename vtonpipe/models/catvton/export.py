"""CatVTON torch -> OpenVINO IR (convert extra): vae_encoder, unet, unet_shallow, vae_decoder, model.json.

    vtonpipe models convert catvton --weights DIR --version mix --out models/catvton \
        --height 1024 --width 768 [--batch 1] [--deep-cache-layers 1] [--int8] [--vae-weights int8|int4]

Shapes are static: vae_encoder [2B,3,H,W] (masked persons then garments) -> mean, logvar;
unet sample [2B,9,2H/8,W/8] + timestep [1] -> noise, feature; unet_shallow the same plus that
feature -> noise; vae_decoder [B,4,H/8,W/8] -> image. vae_encoder, unet and unet_shallow are
exported batch-polymorphic and saved at these shapes: the runtime reshapes them to the other
batches model.json lists under runtime_batches (B for UNet calls without guidance, 1 for
encoding cached latents one image at a time).
`--int8` quantizes the UNet with NNCF PTQ, calibrated on UNet inputs captured while the fp32 IR
runs try-ons of the calibration pairs the command hands in (from a manifest, or synthetic);
unet_shallow stays fp32.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import torch

from vtonpipe.errors import ConfigError
from vtonpipe.models.catvton import FAMILY, VERSIONS
from vtonpipe.models.catvton.checkpoint import CatVTONWeights, load_checkpoint
from vtonpipe.models.catvton.definition import (
    UNetDeepStep,
    UNetShallowStep,
    VAEDecoder,
    VAEEncoder,
    deep_cache_layer_limit,
)
from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.common.quantize import quantize_ptq, replace_ir

Pair = tuple[np.ndarray, np.ndarray, np.ndarray]  # person, garment, mask


def ir_shapes(weights: CatVTONWeights, height: int, width: int, batch: int) -> dict[str, dict[str, list[int]]]:
    """Static input shapes of every IR; unet_shallow's feature shape is filled in by export_models."""
    factor = 2 ** (len(weights.vae.config.block_out_channels) - 1)
    # The UNet halves the latent once per down block after the first.
    unet_factor = factor * 2 ** (len(weights.unet.config.block_out_channels) - 1)
    if height % unet_factor or width % unet_factor:
        raise ConfigError(f"--height and --width must be multiples of {unet_factor}, got {height}x{width}")
    h, w = height // factor, width // factor
    return {
        "vae_encoder": {"image": [2 * batch, 3, height, width]},
        "unet": {"sample": [2 * batch, 9, 2 * h, w], "timestep": [1]},
        "unet_shallow": {"sample": [2 * batch, 9, 2 * h, w], "timestep": [1], "feature": []},
        "vae_decoder": {"latent": [batch, weights.vae.config.latent_channels, h, w]},
    }


def runtime_batches(batch: int) -> dict[str, list[int]]:
    """Batches the runtime may reshape each batch-polymorphic IR to (the saved one first)."""
    return {"vae_encoder": [2 * batch, 1], "unet": [2 * batch, batch], "unet_shallow": [2 * batch, batch]}


def export_models(weights: CatVTONWeights, out_dir: Path, shapes: dict[str, dict[str, list[int]]], deep_cache_layers: int) -> None:
    """Write the four fp32 IRs; sets shapes["unet_shallow"]["feature"]."""
    sample, timestep = torch.randn(shapes["unet"]["sample"]), torch.tensor([500.0])

    def save(name: str, module: torch.nn.Module, example: tuple, inputs: list[str], outputs: list[str],
             batched: tuple[str, ...] = ()) -> ov.Model:
        model = to_openvino(module, example, inputs, outputs, dynamic_batch=batched)
        save_ir(model, out_dir / name, compress_to_fp16=False)
        return model

    save("vae_encoder", VAEEncoder(weights.vae), (torch.zeros(shapes["vae_encoder"]["image"]),), ["image"],
         ["mean", "logvar"], batched=("image",))
    unet = save("unet", UNetDeepStep(weights.unet, deep_cache_layers), (sample, timestep), ["sample", "timestep"],
                ["noise", "feature"], batched=("sample",))
    feature = list(unet.output("feature").get_shape())
    shapes["unet_shallow"]["feature"] = feature
    save("unet_shallow", UNetShallowStep(weights.unet, deep_cache_layers), (sample, timestep, torch.randn(feature)),
         ["sample", "timestep", "feature"], ["noise"], batched=("sample", "feature"))
    save("vae_decoder", VAEDecoder(weights.vae), (torch.zeros(shapes["vae_decoder"]["latent"]),), ["latent"], ["image"])


def export_ir(
    weights: CatVTONWeights,
    out_dir: str | Path,
    *,
    height: int = 1024,
    width: int = 768,
    batch: int = 1,
    deep_cache_layers: int = 1,
    variant: str | None = None,
    calibration_pairs: list[Pair] | None = None,
    calibration_steps: int = 50,
    quantize_attention: bool = False,
    vae_weights: str | None = None,
) -> Path:
    """Loaded weights -> IR folder with model.json; returns the folder.

    `deep_cache_layers` outer UNet layers make up unet_shallow (the part a cached step recomputes).
    With `calibration_pairs` the UNet is INT8-quantized on inputs captured while the fp32 IR
    renders them; `vae_weights` ("int8"/"int4") compresses the VAE weights.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    version = weights.version
    shapes = ir_shapes(weights, height, width, batch)
    limit = deep_cache_layer_limit(weights.unet)
    if not 1 <= deep_cache_layers <= limit:
        raise ConfigError(f"--deep-cache-layers must be in 1..{limit} for this UNet, got {deep_cache_layers}")
    export_models(weights, out_dir, shapes, deep_cache_layers)
    extra: dict[str, Any] = {
        "height": height,
        "width": width,
        "batch": batch,
        "latent_scale": 2 ** (len(weights.vae.config.block_out_channels) - 1),
        "latent_channels": weights.vae.config.latent_channels,
        "scaling_factor": weights.vae.config.scaling_factor,
        # The diffusers config as shipped: each sampler fills in its own defaults, as from_config does.
        "scheduler": {k: v for k, v in weights.scheduler_config.items() if not k.startswith("_")},
        "deep_cache": {"layers": deep_cache_layers},
        "runtime_batches": runtime_batches(batch),
        "attention_checkpoint": VERSIONS[version],
    }

    def describe(precision: str) -> None:
        write_model_json(out_dir, family=FAMILY, variant=variant or version, inputs=shapes, precision=precision,
                         sources=weights.sources, extra=extra)

    describe("fp32")  # the runtime that captures calibration inputs reads it
    if calibration_pairs:
        samples = calibration_inputs(out_dir, calibration_pairs, calibration_steps)
        quantize_unet(out_dir, samples, quantize_attention=quantize_attention)
        extra["int8"] = {"calibration_samples": len(samples), "quantize_attention": quantize_attention, "quantized": ["unet"]}
    if vae_weights:
        compress_vae(out_dir, vae_weights)
        extra["vae_weights"] = vae_weights
    if calibration_pairs or vae_weights:
        describe("int8" if calibration_pairs else "fp32")
    return out_dir


def calibration_inputs(ir_dir: Path, pairs: list[Pair], steps: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """UNet inputs captured while the fp32 IR runs each pair (steps inputs per pair)."""
    from vtonpipe.models.catvton.runtime import CatVTONRuntime

    runtime = CatVTONRuntime(ir_dir)
    captured: list[dict[str, np.ndarray]] = []
    runtime.unet_input_hook = lambda inputs: captured.append({k: v.copy() for k, v in inputs.items()})
    for i, (person, garment, mask) in enumerate(pairs):
        runtime(person, garment, mask, steps=steps, seed=seed + i)
    return captured


def quantize_unet(ir_dir: Path, samples: list[dict[str, np.ndarray]], *, quantize_attention: bool = False) -> None:
    """Replace unet.xml by its INT8 PTQ version."""
    model = ov.Core().read_model(ir_dir / "unet.xml")
    replace_ir(quantize_ptq(model, samples, quantize_attention=quantize_attention), ir_dir / "unet")


def compress_vae(ir_dir: Path, mode: str) -> None:
    """Weight-only compression of both VAE IRs (footprint; the VAE is not the cost)."""
    import nncf

    modes = {
        "int8": dict(mode=nncf.CompressWeightsMode.INT8_ASYM),
        "int4": dict(mode=nncf.CompressWeightsMode.INT4_SYM, ratio=0.8, group_size=128),
    }
    for name in ("vae_encoder", "vae_decoder"):
        model = ov.Core().read_model(ir_dir / f"{name}.xml")
        replace_ir(nncf.compress_weights(model, **modes[mode]), ir_dir / name)


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True,
                        help="folder written by `vtonpipe models fetch catvton DIR` (base/, catvton/, vae/)")
    parser.add_argument("--version", choices=sorted(VERSIONS), default="mix",
                        help="attention checkpoint (default: mix, trained at 1024x768; vitonhd/dresscode at 512x384)")
    parser.add_argument("--out", required=True, help="IR folder to write")
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--batch", type=int, default=1, help="pairs per UNet call (the IR is static)")
    parser.add_argument("--deep-cache-layers", type=int, default=1,
                        help="outer UNet layers unet_shallow recomputes on the steps that reuse the cached deep "
                        "feature (runtime cache_interval > 1); 1 is cheapest: about 9%% of a full UNet call at SD-1.5 size")
    parser.add_argument("--int8", action="store_true", help="NNCF INT8 post-training quantization of the UNet")
    parser.add_argument("--calib-pairs", help="pairs manifest (Parquet) to calibrate on, e.g. out/manifests/pairs "
                        "(default: pairs drawn like the demo dataset, with their CatVTON masks)")
    parser.add_argument("--calib-masks", help="output folder holding <group>/agnostic-mask/ for --calib-pairs")
    parser.add_argument("--calib-size", type=int, default=2, help="pairs to run for calibration")
    parser.add_argument("--calib-steps", type=int, default=50, help="denoising steps per calibration pair")
    parser.add_argument("--quantize-attention", action="store_true", help="also quantize attention (slower on CPUs without VNNI)")
    parser.add_argument("--vae-weights", choices=["int8", "int4"], help="NNCF weight compression of the VAE IRs")


Calibration = Callable[[int, int, int], list[Pair]]  # (n, height, width) -> pairs


def convert_from_args(args: argparse.Namespace, calibration: Calibration | None = None) -> Path:
    """`vtonpipe models convert catvton`: `calibration` supplies the INT8 calibration pairs."""
    pairs = None
    if args.int8:
        if calibration is None:
            raise ConfigError("--int8 needs calibration pairs, and none were provided")
        pairs = calibration(args.calib_size, args.height, args.width)
    return export_ir(
        load_checkpoint(args.weights, args.version), args.out, height=args.height, width=args.width,
        batch=args.batch, deep_cache_layers=args.deep_cache_layers, calibration_pairs=pairs,
        calibration_steps=args.calib_steps, quantize_attention=args.quantize_attention,
        vae_weights=args.vae_weights,
    )
