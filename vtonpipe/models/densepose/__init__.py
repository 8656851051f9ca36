"""DensePose R50-FPN (detectron2's densepose_rcnn_R_50_FPN_s1x) on OpenVINO, without detectron2.

Runtime side (no torch): runtime.DensePoseRuntime, boxes, pooling.
Convert side (torch): definition, checkpoint, export, tiny.
"""

FAMILY = "densepose"
DESCRIPTION = "DensePose R50-FPN (densepose_rcnn_R_50_FPN_s1x, model_final_162be9.pkl)"
LICENSE = "Apache-2.0 (detectron2 DensePose weights)"
WEIGHTS = "model_final_162be9.pkl (detectron2 pickle of numpy arrays)"
RUNTIME = "DensePoseRuntime"
# backbone: image -> p2..p5 + RPN outputs; box_head: pooled -> logits, deltas;
# decoder: p2..p5 -> features; densepose_head: pooled -> coarse, fine, u, v
IR_NAMES = ("backbone", "box_head", "decoder", "densepose_head")
