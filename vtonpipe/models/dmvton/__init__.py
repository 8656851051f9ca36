"""DM-VTON (Nguyen-Ngoc et al., ISMAR-Adjunct 2023): parser-free try-on distilled from FS-VTON,
a MobileNetV2 appearance-flow warp and a MobileNetV2 U-Net generator, on OpenVINO.

Modules: `definition` (torch networks), `checkpoint` (official files -> networks), `pruning`
(structured channel pruning of the warp), `export` (IR, NNCF INT8), `tiny` (seeded random weights
in the official layout), `runtime` (OpenVINO + numpy).
"""

FAMILY = "dmvton"
DESCRIPTION = "DM-VTON: fast parser-free try-on (person, garment, garment mask) at 256x192, 9.4 M parameters"
LICENSE = "CC BY-NC-SA 4.0 (non-commercial); the correlation op also carries FlowNet2's terms"
WEIGHT_FILES = ("dmvton_pf_warp.pt", "dmvton_pf_gen.pt")
WEIGHTS = "a folder holding dmvton_pf_warp.pt and dmvton_pf_gen.pt (DM-VTON's checkpoints/ folder)"
RUNTIME = "DMVTONRuntime"
IR_NAME = "tryon"
IR_NAMES = (IR_NAME,)
INPUT_NAMES = ("person", "garment", "garment_mask")
OUTPUT_NAME = "tryon"
# The official test script saves with torchvision's save_image: (x + 1) * 127.5, rounded half up.
ROUNDING = "half_up"
