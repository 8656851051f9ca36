"""Inception-v3 pool3 features for FID/KID, from clean-fid's TorchScript file on OpenVINO.

Import ``runtime`` (OpenVINO + PIL/numpy) for inference; ``export``/``tiny`` need torch (the
``convert`` extra).
"""

FAMILY = "inception"
DESCRIPTION = "Inception-v3 features for FID/KID (clean-fid's inception-2015-12-05.pt)"
LICENSE = "Apache-2.0 (TensorFlow Inception graph, TorchScript port by NVIDIA)"
WEIGHTS = "inception-2015-12-05.pt (TorchScript archive; placed by hand, never downloaded)"
RUNTIME = "InceptionRuntime"
IR_NAME = "inception"
IR_NAMES = (IR_NAME,)
# The file clean-fid (and StyleGAN2-ADA's metrics) use: NVIDIA's TorchScript port of the
# TF Inception graph of 2015-12-05.
WEIGHTS_FILE = "inception-2015-12-05.pt"
INPUT_SIZE = 299
FEATURE_DIM = 2048
