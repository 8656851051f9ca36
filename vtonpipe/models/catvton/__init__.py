"""CatVTON (Chong et al., ICLR 2025): SD-1.5 inpainting UNet with try-on self-attention, on OpenVINO.

Modules: `definition` (torch modules, the UNet split for deep-feature caching), `checkpoint`
(official files -> modules), `export` (IR + NNCF), `tiny` (seeded random weights in the official
layout), `preprocess` (numpy image prep), `runtime` (OpenVINO + numpy pipeline), `sampling` (its
denoising loop), `latent_cache` (latents shared by pairs, pair order), `reference` (torch/diffusers
pipeline used for parity checks).
"""

FAMILY = "catvton"
DESCRIPTION = "CatVTON try-on (SD-1.5 inpainting UNet + CatVTON attention + sd-vae-ft-mse)"
LICENSE = "CC BY-NC-SA 4.0 (CatVTON attention weights: non-commercial); SD-1.5 CreativeML OpenRAIL-M"
WEIGHTS = "folder from `vtonpipe models fetch catvton DIR`: base/ (SD-1.5 inpainting), catvton/, vae/"
RUNTIME = "CatVTONRuntime"
IR_NAMES = ("vae_encoder", "unet", "unet_shallow", "vae_decoder")
# vae_encoder: image -> mean, logvar; unet: sample, timestep -> noise and the deep feature that
# unet_shallow (the outer layers only) reuses on cached steps; vae_decoder: latent -> image
IR_INPUTS = {
    "vae_encoder": ("image",),
    "unet": ("sample", "timestep"),
    "unet_shallow": ("sample", "timestep", "feature"),
    "vae_decoder": ("latent",),
}
IR_OUTPUTS = {
    "vae_encoder": ("mean", "logvar"),
    "unet": ("noise", "feature"),
    "unet_shallow": ("noise",),
    "vae_decoder": ("image",),
}

# attention checkpoint version -> sub-folder of the CatVTON repo.
VERSIONS = {
    "mix": "mix-48k-1024",
    "vitonhd": "vitonhd-16k-512",
    "dresscode": "dresscode-16k-512",
}
