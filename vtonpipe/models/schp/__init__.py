"""SCHP human parsing (Self-Correction Human Parsing, AugmentCE2P ResNet-101) for LIP and ATR labels.

Import the submodule you need: ``runtime`` (OpenVINO only) for inference, ``export``/``tiny``
(torch, the ``convert`` extra) to build IR folders. The names below tie the two sides together.
"""

FAMILY = "schp"
IR_NAME = "schp"  # schp.xml / schp.bin inside an IR folder
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
