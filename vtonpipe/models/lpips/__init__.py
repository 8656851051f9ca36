"""LPIPS (Zhang et al. 2018) with the SqueezeNet-1.1 backbone, torchmetrics convention, on OpenVINO.

Import ``runtime`` (OpenVINO + numpy) for inference; ``export``/``tiny`` need torch (the
``convert`` extra).
"""

FAMILY = "lpips"
DESCRIPTION = "LPIPS with the SqueezeNet backbone (torchmetrics convention)"
LICENSE = "BSD-2-Clause (LPIPS heads); torchvision SqueezeNet weights BSD-3-Clause"
WEIGHTS = "a folder holding squeezenet1_1-b8a52dc0.pth (torchvision) and squeeze.pth (lpips v0.1)"
RUNTIME = "LpipsRuntime"
IR_NAME = "lpips"
IR_NAMES = (IR_NAME,)
# torchvision's ImageNet SqueezeNet-1.1 weights (keys features.N.*, classifier.1.*).
BACKBONE_FILE = "squeezenet1_1-b8a52dc0.pth"
# The lpips package's calibrated linear layers for the squeeze trunk, v0.1 (keys linK.model.1.weight).
LIN_FILE = "squeeze.pth"
