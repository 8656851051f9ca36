"""OpenPose body pose (the CMU COCO body model, 18 keypoints) as the try-on demos run it, on OpenVINO.

Runtime side (no torch): ``runtime.OpenPoseRuntime``, ``resize`` (pre-processing and map
upsampling per code variant), ``postprocess`` (peaks, limbs, person assembly).
Convert side (torch): ``definition``, ``checkpoint``, ``export``, ``tiny``.
"""

FAMILY = "openpose"
DESCRIPTION = "OpenPose COCO-18 body keypoints (pytorch-openpose / ControlNet annotator weights)"
LICENSE = "OpenPose weights: CMU academic licence, non-commercial research use only"
WEIGHTS = "body_pose_model.pth (the pytorch-openpose / ControlNet annotator body model, 209,267,595 bytes)"
WEIGHTS_FILE = "body_pose_model.pth"
RUNTIME = "OpenPoseRuntime"

IR_NAME = "openpose_body"  # openpose_body.xml / .bin inside an IR folder
IR_NAMES = (IR_NAME,)
INPUT_NAME = "image"  # [1, 3, H, W] float32, BGR pixel / 256 - 0.5, H and W multiples of 8
OUTPUT_PAFS = "pafs"  # [1, 38, H/8, W/8]
OUTPUT_HEATMAPS = "heatmaps"  # [1, 19, H/8, W/8], rectified
