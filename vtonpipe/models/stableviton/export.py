"""StableVITON torch -> OpenVINO IR folder (convert extra): four static IRs and model.json.

    vtonpipe models convert stableviton --weights VITONHD.ckpt [--config VITONHD.yaml] --out DIR \
        --height 512 --width 384 [--batch 1] [--int8 --calib-size 2 --calib-steps 20]

IRs (B = --batch, h, w = H/8, W/8): garment_encoder cloth [B,3,H,W] -> context, null_context
[B,1,768]; vae_encoder image [4B,3,H,W] (persons, agnostics, DensePose images, cloths) -> mean,
logvar [4B,4,h,w]; denoiser x [B,4,h,w], cond [B,9,h,w], cloth_latent [B,4,h,w], context
[B,1,768], t [B] -> eps [B,4,h,w]; vae_decoder latent [B,4,h,w] -> image [B,3,H,W].

`--int8`: NNCF PTQ of the denoiser, calibrated on the denoiser inputs captured while the fp32
IR renders the calibration pairs. A pair is (person, garment, mask) or (person, agnostic, mask,
densepose, garment); a triple gets the agnostic image by painting the mask region (>= 128)
gray (128, 128, 128), as the VITON-HD agnostic images are, and a black DensePose image (the
renders' background), since a triple has no DensePose: the DensePose latent channels then
calibrate on a background only.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import torch

from vtonpipe.errors import ConfigError
from vtonpipe.models.common.convert import to_openvino
from vtonpipe.models.common.ir import save_ir, write_model_json
from vtonpipe.models.common.quantize import quantize_ptq, replace_ir
from vtonpipe.models.stableviton import DENOISER, FAMILY, GARMENT_ENCODER, PORTS, VAE_DECODER, VAE_ENCODER
from vtonpipe.models.stableviton.checkpoint import LoadedStableVITON, load_checkpoint
from vtonpipe.models.stableviton.config import StableVITONConfig
from vtonpipe.models.stableviton.definition import DenoiserIR, GarmentEncoderIR, VAEDecoderIR, VAEEncoderIR

Calibration = Callable[[int, int, int], Sequence[tuple[np.ndarray, ...]]]
GRAY = 128


def ir_shapes(cfg: StableVITONConfig, height: int, width: int, batch: int) -> dict[str, dict[str, list[int]]]:
    """Static input shapes of the four IRs; ConfigError for a size the model cannot run."""
    levels = len(cfg.unet.channel_mult)
    multiple = cfg.vae.factor * 2 ** (levels - 1)
    if height <= 0 or width <= 0 or height % multiple or width % multiple:
        raise ConfigError(f"--height and --width must be positive multiples of {multiple} (the latent is halved "
                          f"{levels - 1} times in the UNet), got {height}x{width}; e.g. 512x384")
    h, w = height // cfg.vae.factor, width // cfg.vae.factor
    warped = [(h >> j, w >> j) for j in range(levels - 1)]
    if (8, 6) in warped:
        raise ConfigError(f"{height}x{width} cannot run: the official model refuses a warped decoder level of "
                          f"8x6 latent pixels (it asserts 'shape is wrong'); 512x384 or 1024x768 can")
    latent = cfg.unet.out_channels
    return {
        GARMENT_ENCODER: {"cloth": [batch, 3, height, width]},
        VAE_ENCODER: {"image": [4 * batch, 3, height, width]},
        DENOISER: {"x": [batch, latent, h, w], "cond": [batch, cfg.unet.in_channels - latent, h, w],
                   "cloth_latent": [batch, cfg.unet.hint_channels, h, w], "context": [batch, 1, cfg.context_dim],
                   "t": [batch]},
        VAE_DECODER: {"latent": [batch, latent, h, w]},
    }


def _examples(shapes: dict[str, list[int]]) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.full(s, 500.0) if name == "t" else torch.randn(s, generator=generator)
                 for name, s in shapes.items())


def export_models(loaded: LoadedStableVITON, out_dir: Path, shapes: dict[str, dict[str, list[int]]]) -> None:
    """Write the four fp32 IRs."""
    modules = {GARMENT_ENCODER: GarmentEncoderIR, VAE_ENCODER: VAEEncoderIR, DENOISER: DenoiserIR, VAE_DECODER: VAEDecoderIR}
    for name, wrapper in modules.items():
        inputs, outputs = PORTS[name]
        assert list(shapes[name]) == list(inputs), (name, shapes[name])
        example = _examples(shapes[name])
        # A TorchScript trace (unchecked: shapes are static) converts these graphs several times
        # faster than torch.export or OpenVINO's own checked trace.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", FutureWarning)  # transformers' deprecated attributes, probed by the tracer
            traced = torch.jit.trace(wrapper(loaded.model).eval(), example, check_trace=False)
        model = to_openvino(traced, example, inputs, outputs, method="trace")
        save_ir(model, out_dir / name)


def model_params(loaded: LoadedStableVITON, height: int, width: int, batch: int) -> dict[str, Any]:
    """The runtime's parameters: sizes, latent scale, and the checkpoint's own schedule."""
    cfg, model = loaded.config, loaded.model
    start = cfg.timesteps - 1
    return {
        "height": height,
        "width": width,
        "batch": batch,
        "latent_scale": cfg.vae.factor,
        "latent_channels": cfg.unet.out_channels,
        "scale_factor": cfg.scale_factor,
        "sampler": "plms",
        "alphas_cumprod": [float(a) for a in model.alphas_cumprod.numpy()],
        # x_T = q_sample(person latent, T - 1), with the checkpoint's float32 square roots.
        "start_timestep": start,
        "sqrt_alphas_cumprod_start": float(model.sqrt_alphas_cumprod[start]),
        "sqrt_one_minus_alphas_cumprod_start": float(model.sqrt_one_minus_alphas_cumprod[start]),
    }


def tryon_inputs(pair: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """A calibration pair as the runtime's (person, agnostic, agnostic_mask, densepose, garment)."""
    if len(pair) == 5:
        return tuple(pair)
    if len(pair) != 3:
        raise ConfigError(f"a calibration pair is (person, garment, mask) or 5 images, got {len(pair)} items")
    person, garment, mask = pair
    region = (mask if mask.ndim == 2 else mask[..., 0]) >= 128
    agnostic = person.copy()
    agnostic[region] = GRAY
    return person, agnostic, mask, np.zeros_like(person), garment


def calibration_inputs(ir_dir: Path, pairs: Sequence[Sequence[np.ndarray]], steps: int,
                       seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Denoiser inputs captured while the fp32 IR renders each pair (steps + 1 per pair)."""
    from vtonpipe.models.stableviton.runtime import StableVITONRuntime

    runtime = StableVITONRuntime(ir_dir)
    captured: list[dict[str, np.ndarray]] = []
    runtime.denoiser_input_hook = lambda inputs: captured.append({k: v.copy() for k, v in inputs.items()})
    for i, pair in enumerate(pairs):
        runtime(*tryon_inputs(pair), steps=steps, seed=seed + i)
    return captured


def export_ir(
    loaded: LoadedStableVITON,
    out_dir: str | Path,
    *,
    height: int = 512,
    width: int = 384,
    batch: int = 1,
    int8: bool = False,
    calibration: Calibration | None = None,
    calibration_size: int = 2,
    calibration_steps: int = 20,
    quantize_attention: bool = False,
    variant: str = "vitonhd",
) -> Path:
    """Loaded model -> IR folder `out_dir` with model.json; returns the folder.

    `int8` quantizes the denoiser on inputs captured from `calibration(calibration_size, height,
    width)` pairs rendered with `calibration_steps` steps.
    """
    out_dir = Path(out_dir)
    shapes = ir_shapes(loaded.config, height, width, batch)
    if int8 and calibration is None:
        raise ConfigError("--int8 needs calibration pairs (a `calibration(n, height, width)` callable)")
    out_dir.mkdir(parents=True, exist_ok=True)
    export_models(loaded, out_dir, shapes)
    extra = model_params(loaded, height, width, batch)

    def describe(precision: str) -> None:
        write_model_json(out_dir, family=FAMILY, variant=variant, inputs=shapes, precision=precision,
                         sources=loaded.sources, extra=extra)

    describe("fp32")  # the runtime that captures calibration inputs reads it
    if int8:
        pairs = list(calibration(calibration_size, height, width))
        samples = calibration_inputs(out_dir, pairs, calibration_steps)
        model = ov.Core().read_model(out_dir / f"{DENOISER}.xml")
        replace_ir(quantize_ptq(model, samples, quantize_attention=quantize_attention), out_dir / DENOISER)
        extra["int8"] = {"quantized": [DENOISER], "calibration_pairs": len(pairs), "calibration_steps": calibration_steps,
                         "calibration_samples": len(samples), "quantize_attention": quantize_attention}
        describe("int8")
    return out_dir


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, help="the released VITONHD.ckpt (or a safetensors state dict)")
    parser.add_argument("--config", help="the official configs/VITONHD.yaml: sets the head count, "
                        "checked against the weights")
    parser.add_argument("--out", required=True, help="IR folder to write")
    parser.add_argument("--height", type=int, default=512, help="model height, a multiple of 64 (default 512)")
    parser.add_argument("--width", type=int, default=384, help="model width, a multiple of 64 (default 384)")
    parser.add_argument("--batch", type=int, default=1, help="pairs per denoiser call (the IRs are static)")
    parser.add_argument("--variant", default="vitonhd", help="name recorded in model.json (default: vitonhd)")
    parser.add_argument("--int8", action="store_true", help="NNCF INT8 post-training quantization of the denoiser")
    parser.add_argument("--calib-size", type=int, default=2, help="pairs rendered for calibration")
    parser.add_argument("--calib-steps", type=int, default=20, help="PLMS steps per calibration pair")
    parser.add_argument("--quantize-attention", action="store_true",
                        help="also quantize attention (slower on CPUs without VNNI)")


def convert_from_args(args: argparse.Namespace, calibration: Calibration | None = None) -> Path:
    return export_ir(
        load_checkpoint(args.weights, args.config), args.out, height=args.height, width=args.width, batch=args.batch,
        int8=args.int8, calibration=calibration, calibration_size=args.calib_size, calibration_steps=args.calib_steps,
        quantize_attention=args.quantize_attention, variant=args.variant,
    )
