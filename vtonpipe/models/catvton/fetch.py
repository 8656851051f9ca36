"""`vtonpipe models fetch catvton DIR`: CatVTON's official files from the Hugging Face hub.

The CatVTON repo also carries SCHP/ and DensePose/ weights used by the parse and densepose stages.
"""

from __future__ import annotations

from vtonpipe.errors import VtonpipeError

# Hugging Face repos the command downloads, and the sub-folder each lands in.
CATVTON_REPOS = {
    "base": "booksforcharlie/stable-diffusion-inpainting",
    "catvton": "zhengchong/CatVTON",
    "vae": "stabilityai/sd-vae-ft-mse",
}


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
