"""The model families vtonpipe knows, and where their official files come from."""

from __future__ import annotations

import importlib
import importlib.util

from vtonpipe.errors import VtonpipeError

FAMILIES = {
    "catvton": "CatVTON try-on (SD-1.5 inpainting UNet + CatVTON attention + sd-vae-ft-mse)",
    "schp": "SCHP human parsing, LIP (20 classes) or ATR (18 classes)",
    "densepose": "DensePose R50-FPN (densepose_rcnn_R_50_FPN_s1x, model_final_162be9.pkl)",
    "inception": "Inception-v3 features for FID/KID (clean-fid's inception-2015-12-05.pt)",
    "lpips": "LPIPS with the SqueezeNet backbone",
}

# Hugging Face repos `vtonpipe models fetch catvton DIR` downloads, and the sub-folder each lands in.
# The CatVTON repo also carries SCHP/ and DensePose/ weights used by the parse and densepose stages.
CATVTON_REPOS = {
    "base": "booksforcharlie/stable-diffusion-inpainting",
    "catvton": "zhengchong/CatVTON",
    "vae": "stabilityai/sd-vae-ft-mse",
}


def family_module(family: str, part: str):
    """Import vtonpipe.models.<family>.<part> (export, tiny, runtime)."""
    if family not in FAMILIES:
        raise KeyError(family)
    return importlib.import_module(f"vtonpipe.models.{family}.{part}")


def installed_families() -> list[str]:
    return [f for f in FAMILIES if importlib.util.find_spec(f"vtonpipe.models.{f}.export") is not None]


def fetch_catvton(target: str) -> None:
    """Download the three repos CatVTON needs into target/{base,catvton,vae} (needs network access)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise VtonpipeError("`models fetch` needs huggingface_hub (pip install 'vtonpipe[convert]')") from exc
    patterns = {"base": ["unet/*", "scheduler/*", "model_index.json"], "catvton": None, "vae": None}
    for sub, repo in CATVTON_REPOS.items():
        try:
            snapshot_download(repo_id=repo, local_dir=f"{target}/{sub}", allow_patterns=patterns[sub])
        except Exception as exc:  # offline machines, proxies, gated repos: all end here
            raise VtonpipeError(
                f"could not download {repo} into {target}/{sub} ({type(exc).__name__}: {exc}). This needs "
                "access to the Hugging Face hub; on an offline machine copy the three repos there by hand "
                f"({', '.join(f'{k}/ <- {v}' for k, v in CATVTON_REPOS.items())})."
            ) from None
