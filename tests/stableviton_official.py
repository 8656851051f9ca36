"""The official StableVITON inference (rlawjdghek/StableVITON inference.py), run on CPU at tiny
size for parity tests, made deterministic the way the parity is defined: every VAE encoding
takes the posterior mean, x_T's noise is given, eta 0.

Upstream files are extracted into a temp folder (tests/upstream.py). What cannot run here is
replaced, nothing else:
- packages absent from the convert extra, imported but unused on the inference path
  (pytorch_lightning, skimage, cleanfid, eval_models, torchvision.utils) -> inert stand-ins;
- xformers -> softmax(q k^T / sqrt(d)) v in fp32 (the same maths);
- einops rearrange/repeat, omegaconf's config objects, torchvision's tensor resize (bilinear,
  align_corners=False, no antialiasing, as the pinned torchvision 0.15.1 does for tensors) and
  Normalize, albumentations' Resize/Compose (cv2.resize INTER_LINEAR per target) -> small
  equivalents;
- CLIPVisionModel.from_pretrained (a download) -> the tiny tower built from its config, in the
  transformers-4 layout the checkpoint keys use (vision_model.*);
- CUDA placement -> CPU; DataLoader workers -> 0;
- the warp blocks' widths, hard-coded for model_channels 320, scaled to the tiny model_channels,
  and the mapper's hard-coded 5 blocks set to the tiny count.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import yaml
from upstream import extract

REPO = "rlawjdghek/StableVITON"
PATHS = ["inference.py", "dataset.py", "utils.py", "cldm", "ldm", "configs/VITONHD.yaml"]
PURGE = ("ldm", "cldm", "dataset", "utils", "inference", "eval_models", "xformers", "pytorch_lightning",
         "torchvision", "omegaconf", "einops", "skimage", "cleanfid", "albumentations",
         "diffusers.models.autoencoder_kl", "diffusers.models.vae")


class AttrDict(dict):
    """omegaconf DictConfig stand-in: a dict with attribute access, nested."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value


class ListConfig(list):
    pass


def _wrap(value):
    if isinstance(value, dict):
        return AttrDict({k: _wrap(v) for k, v in value.items()})
    if isinstance(value, list):
        return ListConfig(_wrap(v) for v in value)
    return value


def _axes(side: str) -> list[list[str]]:
    return [group.split() if group else [] for group in
            (m.group(1) if m.group(1) is not None else m.group(2) for m in re.finditer(r"\(([^)]*)\)|(\S+)", side))]


def rearrange(t, pattern, **sizes):
    """einops.rearrange for reshape/transpose patterns (groups in parentheses, `()` = 1)."""
    left, right = (_axes(s) for s in pattern.split("->"))
    known = dict(sizes)
    for group, dim in zip(left, t.shape):
        missing = [a for a in group if a not in known]
        rest = int(np.prod([known[a] for a in group if a in known]))
        if missing:
            known[missing[0]] = dim // rest
    flat = [a for group in left for a in group]
    t = t.reshape([known[a] for a in flat])
    order = [a for group in right for a in group if a in flat]
    t = t.permute([flat.index(a) for a in order])
    return t.reshape([int(np.prod([known[a] for a in group])) if group else 1 for group in right])


def repeat(t, pattern, **sizes):
    """einops.repeat: new axes named in `sizes` are broadcast, then rearranged."""
    left, right = (_axes(s) for s in pattern.split("->"))
    have = [a for group in left for a in group]
    t = rearrange(t, f"{pattern.split('->')[0]} -> {' '.join(have)}", **sizes)
    new = [a for group in right for a in group if a not in have]
    for a in new:
        t = t.unsqueeze(-1).expand(*t.shape, sizes[a])
    out = " ".join("(" + " ".join(g) + ")" for g in right)
    return rearrange(t, f"{' '.join(have + new)} -> {out}", **sizes)


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _memory_efficient_attention(q, k, v, attn_bias=None, op=None):
    scores = torch.einsum("bid,bjd->bij", q.float(), k.float()) * q.shape[-1] ** -0.5
    return torch.einsum("bij,bjd->bid", scores.softmax(dim=-1), v.float()).to(q.dtype)


def _tv_resize(x, size, *args, **kwargs):
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=False)


class _Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = torch.tensor(mean), torch.tensor(std)

    def __call__(self, x):
        return (x - self.mean[:, None, None]) / self.std[:, None, None]


class _AlbuResize:
    def __init__(self, height, width, **_):
        self.size = (width, height)

    def __call__(self, image):
        return cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)


class _AlbuCompose:
    def __init__(self, transforms, additional_targets=None, **_):
        self.transforms = transforms

    def __call__(self, **images):
        for t in self.transforms:
            images = {k: t(v) for k, v in images.items()}
        return images


class _LightningModule(torch.nn.Module):
    @property
    def device(self):
        return next(self.parameters()).device


def _stubs() -> dict[str, types.ModuleType]:
    from diffusers.models.autoencoders.vae import DecoderOutput
    from diffusers.models.modeling_outputs import AutoencoderKLOutput

    ops = _module("xformers.ops", memory_efficient_attention=_memory_efficient_attention)
    functional = _module("torchvision.transforms.functional", resize=_tv_resize)
    transforms = _module("torchvision.transforms", functional=functional, Normalize=_Normalize)
    listconfig = _module("omegaconf.listconfig", ListConfig=ListConfig)

    class OmegaConf:
        @staticmethod
        def load(path):
            return _wrap(yaml.safe_load(Path(path).read_text()))

    pl_utils = _module("pytorch_lightning.utilities")
    stubs = {
        "xformers": _module("xformers", ops=ops), "xformers.ops": ops,
        "pytorch_lightning": _module("pytorch_lightning", LightningModule=_LightningModule, utilities=pl_utils),
        "pytorch_lightning.utilities": pl_utils,
        "pytorch_lightning.utilities.distributed": _module("pytorch_lightning.utilities.distributed",
                                                           rank_zero_only=lambda f: f),
        "pytorch_lightning.utilities.types": _module("pytorch_lightning.utilities.types", STEP_OUTPUT=object),
        "torchvision": _module("torchvision", transforms=transforms),
        "torchvision.transforms": transforms, "torchvision.transforms.functional": functional,
        "torchvision.utils": _module("torchvision.utils", make_grid=None),
        "omegaconf": _module("omegaconf", OmegaConf=OmegaConf, ListConfig=ListConfig, DictConfig=AttrDict,
                             listconfig=listconfig),
        "omegaconf.listconfig": listconfig,
        "einops": _module("einops", rearrange=rearrange, repeat=repeat),
        "skimage": _module("skimage"),
        "skimage.metrics": _module("skimage.metrics", structural_similarity=None),
        "cleanfid": _module("cleanfid", fid=None),
        "eval_models": _module("eval_models", PerceptualLoss=None),
        "albumentations": _module("albumentations", Resize=_AlbuResize, Compose=_AlbuCompose),
        "diffusers.models.autoencoder_kl": _module("diffusers.models.autoencoder_kl",
                                                   AutoencoderKLOutput=AutoencoderKLOutput),
        "diffusers.models.vae": _module("diffusers.models.vae", DecoderOutput=DecoderOutput),
    }
    return stubs


def _patch_tiny_widths(root: Path, mapper_layers: int) -> None:
    path = root / "cldm" / "warping_cldm_network.py"
    text = path.read_text()
    anchor = "        for idx, (in_ch, cont_ch) in enumerate(zip(self.encode_output_chs, self.encode_output_chs2)):"
    assert text.count(anchor) == 1, "upstream warp block constructor changed"
    scale = ("        self.encode_output_chs = [c * self.model_channels // 320 for c in self.encode_output_chs]\n"
             "        self.encode_output_chs2 = [c * self.model_channels // 320 for c in self.encode_output_chs2]\n")
    path.write_text(text.replace(anchor, scale + anchor))
    path = root / "ldm" / "modules" / "image_encoders" / "modules.py"
    text, count = re.subn(r"Transformer\(\s*1,\s*1024,\s*5,\s*1,\s*\)", f"Transformer(1, 1024, {mapper_layers}, 1)",
                          path.read_text())
    assert count == 1, "upstream mapper constructor changed"
    path.write_text(text)


def tiny_yaml(root: Path, cfg) -> Path:
    """The official VITONHD.yaml with the tiny widths of `cfg` (a StableVITONConfig)."""
    raw = yaml.safe_load((root / "configs" / "VITONHD.yaml").read_text())
    params = raw["model"]["params"]
    for key in ("unet_config", "control_stage_config"):
        params[key]["params"].update(model_channels=cfg.unet.model_channels, use_checkpoint=False)
    params["first_stage_config"]["params"]["ddconfig"].update(
        ch=cfg.vae.ch, ch_mult=list(cfg.vae.ch_mult), num_res_blocks=cfg.vae.num_res_blocks)
    path = root / "configs" / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@contextlib.contextmanager
def official_code(tmp_path: Path, cfg):
    """Extract, patch for the widths of `cfg` (a tiny StableVITONConfig) and import the official
    code; yields (root, commit, inference module)."""
    from vtonpipe.models.stableviton.image_encoder import clip_vision_tower

    root, commit = extract(REPO, PATHS, tmp_path / "StableVITON")
    _patch_tiny_widths(root, cfg.image_encoder.mapper_layers)
    purged = lambda name: name in PURGE or name.split(".")[0] in PURGE  # noqa: E731
    saved_modules, saved_path = {k: v for k, v in sys.modules.items() if purged(k)}, list(sys.path)
    try:
        for name in saved_modules:
            del sys.modules[name]
        sys.modules.update(_stubs())
        sys.path.insert(0, str(root))
        embedder = importlib.import_module("ldm.modules.image_encoders.modules")
        tower = lambda *_a, **_k: clip_vision_tower(cfg.image_encoder)  # noqa: E731
        embedder.CLIPVisionModel = types.SimpleNamespace(from_pretrained=tower)
        yield root, commit, importlib.import_module("inference")
    finally:
        extracted = lambda k: str(getattr(sys.modules[k], "__file__", "") or "").startswith(str(root))  # noqa: E731
        for name in [k for k in sys.modules if purged(k) or extracted(k)]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path


def run_official(inference, monkeypatch, *, config_path: Path, ckpt: Path, data_root: Path, save_dir: Path,
                 height: int, width: int, steps: int, noise: torch.Tensor, repaint: bool = False,
                 unpair: bool = True, guidance_scale: float = 1.0) -> list[np.ndarray]:
    """inference.main on CPU with the deterministic replacements; the RGB uint8 arrays it would
    write as JPEG, in dataset order."""
    import cldm.plms_hacked as plms
    from ldm.models.diffusion.ddpm import DDPM
    from ldm.modules.distributions.distributions import DiagonalGaussianDistribution

    written: list[np.ndarray] = []
    monkeypatch.setattr(torch.nn.Module, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(plms.PLMSSampler, "register_buffer", lambda self, name, value: setattr(self, name, value))
    monkeypatch.setattr(DiagonalGaussianDistribution, "sample", lambda self: self.mean)
    q_sample = DDPM.q_sample
    monkeypatch.setattr(DDPM, "q_sample", lambda self, x, t, noise_=None: q_sample(self, x, t, noise=noise))
    if guidance_scale != 1.0:
        sample = plms.PLMSSampler.sample
        monkeypatch.setattr(plms.PLMSSampler, "sample", lambda self, *a, **k: sample(
            self, *a, **{**k, "unconditional_guidance_scale": guidance_scale}))
    loader = inference.DataLoader
    monkeypatch.setattr(inference, "DataLoader", lambda *a, **k: loader(*a, **{**k, "num_workers": 0, "pin_memory": False}))
    capture = lambda path, bgr: written.append(bgr[:, :, ::-1].copy())  # noqa: E731
    monkeypatch.setattr(inference, "cv2", types.SimpleNamespace(imwrite=capture))
    args = argparse.Namespace(config_path=str(config_path), model_load_path=str(ckpt), batch_size=len(noise),
                              data_root_dir=str(data_root), repaint=repaint, unpair=unpair, save_dir=str(save_dir),
                              denoise_steps=steps, img_H=height, img_W=width, eta=0.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        inference.main(args)
    finally:
        torch.set_num_threads(threads)
    return written
