"""StableVITON (Kim et al., CVPR 2024): a latent-diffusion try-on UNet whose decoder cross-attends
to a spatial encoder of the garment ("zero cross-attention blocks"), on OpenVINO.

Modules: `definition` (torch modules in the official key layout, built from `config`), `unet`,
`vae`, `image_encoder` (their parts), `checkpoint` (VITONHD.ckpt -> modules), `export` (IRs +
NNCF), `tiny` (seeded random weights in the official layout), `preprocess` (numpy image prep),
`runtime` (OpenVINO + numpy pipeline). The PLMS sampler is `vtonpipe.models.common.plms`.
"""

FAMILY = "stableviton"
DESCRIPTION = "StableVITON try-on (VITON-HD, 512x384): latent diffusion with zero cross-attention warping, PLMS"
LICENSE = "CC BY-NC-SA 4.0: the official weights are non-commercial"
WEIGHTS = "VITONHD.ckpt (the released PyTorch Lightning checkpoint; optionally --config VITONHD.yaml)"
RUNTIME = "StableVITONRuntime"

GARMENT_ENCODER = "garment_encoder"
VAE_ENCODER = "vae_encoder"
DENOISER = "denoiser"
VAE_DECODER = "vae_decoder"
IR_NAMES = (GARMENT_ENCODER, VAE_ENCODER, DENOISER, VAE_DECODER)

# IR name -> (input names, output names).
PORTS = {
    # cloth [B,3,H,W] in [-1,1] -> CLIP context [B,1,768] and the learned null context [B,1,768]
    GARMENT_ENCODER: (("cloth",), ("context", "null_context")),
    # images [4B,3,H,W] in [-1,1] -> posterior mean and clamped log-variance [4B,4,H/8,W/8]
    VAE_ENCODER: (("image",), ("mean", "logvar")),
    # noisy latent, 9-channel condition, cloth latent, context, timestep -> predicted noise
    DENOISER: (("x", "cond", "cloth_latent", "context", "t"), ("eps",)),
    # sampler latent (scaled) [B,4,H/8,W/8] -> image [B,3,H,W] in about [-1,1]
    VAE_DECODER: (("latent",), ("image",)),
}
