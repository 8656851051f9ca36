"""DensePose R50-FPN (detectron2's densepose_rcnn_R_50_FPN_s1x) on OpenVINO, without detectron2.

Runtime side (no torch): runtime.DensePoseRuntime, boxes, pooling, render, unpickle.
Convert side (torch): definition, checkpoint, export, tiny.
"""
