"""SCHP human parsing (Self-Correction Human Parsing, AugmentCE2P ResNet-101) for LIP and ATR labels.

Import the submodule you need: ``runtime`` (OpenVINO only) for inference, ``export``/``tiny``
(torch, the ``convert`` extra) to build IR folders. The names below tie the two sides together.
"""

FAMILY = "schp"
DESCRIPTION = "SCHP human parsing, LIP (20 classes) or ATR (18 classes)"
LICENSE = "MIT (SCHP code and weights)"
WEIGHTS = "exp-schp-201908261155-lip.pth or exp-schp-201908301523-atr.pth"
RUNTIME = "SCHPRuntime"
IR_NAME = "schp"  # schp.xml / schp.bin inside an IR folder
IR_NAMES = (IR_NAME,)
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
