"""CatVTON (Chong et al., ICLR 2025): SD-1.5 inpainting UNet with try-on self-attention, on OpenVINO.

Modules: `definition` (torch modules), `checkpoint` (official files -> modules), `export` (IR +
NNCF), `tiny` (seeded random weights in the official layout), `preprocess` (numpy image prep),
`runtime` (OpenVINO + numpy pipeline), `reference` (torch/diffusers pipeline used for parity checks).
"""

FAMILY = "catvton"

# attention checkpoint version -> sub-folder of the CatVTON repo.
VERSIONS = {
    "mix": "mix-48k-1024",
    "vitonhd": "vitonhd-16k-512",
    "dresscode": "dresscode-16k-512",
}
