"""Body keypoint tables: the COCO-18 layout of the OpenPose body model, OpenPose's BODY_25 layout,
the conversion between them, the 19 limbs the model's part affinity fields describe, and the
pairs and colours OpenPose's renderer draws.

"R"/"L" are the person's right and left: a front-facing person's right side is on the image's left.
"""

from __future__ import annotations

COCO18_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
)  # fmt: skip

BODY25_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)  # fmt: skip

COCO18 = {name: i for i, name in enumerate(COCO18_NAMES)}
BODY25 = {name: i for i, name in enumerate(BODY25_NAMES)}

# BODY_25 index of each COCO-18 keypoint (same names). MidHip and the six foot points have no
# COCO-18 source; a converter fills MidHip from the two hips.
COCO18_TO_BODY25 = tuple(BODY25[name] for name in COCO18_NAMES)
BODY25_MIDHIP = BODY25["MidHip"]
HIPS_COCO18 = (COCO18["RHip"], COCO18["LHip"])

# The 19 limbs of the COCO body model as (part A, part B, PAF x channel, PAF y channel), in the
# order the post-processing scores and assembles them. Limbs 17 and 18 (shoulder-ear) never
# start a new person.
LIMBS = (
    (1, 2, 12, 13), (1, 5, 20, 21), (2, 3, 14, 15), (3, 4, 16, 17), (5, 6, 22, 23), (6, 7, 24, 25),
    (1, 8, 0, 1), (8, 9, 2, 3), (9, 10, 4, 5), (1, 11, 6, 7), (11, 12, 8, 9), (12, 13, 10, 11),
    (1, 0, 28, 29), (0, 14, 30, 31), (14, 16, 34, 35), (0, 15, 32, 33), (15, 17, 36, 37),
    (2, 16, 18, 19), (5, 17, 26, 27),
)  # fmt: skip
NUM_PARTS = 18
NUM_PAF_CHANNELS = 38
NUM_HEATMAP_CHANNELS = 19  # the 18 parts and the background

# OpenPose's renderer: the (A, B) pairs it draws, each in the colour of B, then a disc per joint.
BODY25_RENDER_PAIRS = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (8, 12),
    (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19), (19, 20), (14, 21),
    (11, 22), (22, 23), (11, 24),
)  # fmt: skip
COCO18_RENDER_PAIRS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
    (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)  # fmt: skip
# RGB per keypoint.
BODY25_COLOURS = (
    (255, 0, 85), (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0),
    (85, 255, 0), (0, 255, 0), (255, 0, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255),
    (0, 170, 255), (0, 85, 255), (0, 0, 255), (255, 0, 170), (170, 0, 255), (255, 0, 255),
    (85, 0, 255), (0, 0, 255), (0, 0, 255), (0, 0, 255), (0, 255, 255), (0, 255, 255), (0, 255, 255),
)  # fmt: skip
COCO18_COLOURS = tuple(BODY25_COLOURS[i] for i in COCO18_TO_BODY25)

LAYOUTS = {
    "body25": (BODY25_NAMES, BODY25_RENDER_PAIRS, BODY25_COLOURS),
    "coco18": (COCO18_NAMES, COCO18_RENDER_PAIRS, COCO18_COLOURS),
}
