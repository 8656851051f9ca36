"""PF-AFN (Ge et al., CVPR 2021): parser-free appearance-flow try-on, a residual-encoder
appearance-flow warp and a residual U-Net generator, on OpenVINO.

Modules: `definition` (torch networks), `checkpoint` (official files -> networks), `export` (IR,
NNCF INT8), `tiny` (seeded random weights in the official layout), `runtime` (OpenVINO + numpy).
"""

FAMILY = "pfafn"
DESCRIPTION = "PF-AFN: parser-free try-on (person, garment, garment mask) at 256x192, 73 M parameters"
LICENSE = "non-commercial research and educational use only; the correlation op also carries FlowNet2's terms"
WEIGHT_DIR = "PFAFN"
WEIGHT_FILES = ("warp_model_final.pth", "gen_model_final.pth")
WEIGHTS = "a folder holding PFAFN/warp_model_final.pth and PFAFN/gen_model_final.pth (PF-AFN's checkpoints/ folder)"
RUNTIME = "PFAFNRuntime"
IR_NAME = "tryon"
IR_NAMES = (IR_NAME,)
INPUT_NAMES = ("person", "garment", "garment_mask")
OUTPUT_NAME = "tryon"
# The official test script writes ((x + 1) / 2 * 255) truncated to uint8.
ROUNDING = "truncate"
