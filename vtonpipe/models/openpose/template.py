"""A hand-set "standing person" inside seeded random body-model weights (the tiny preset's detector).

Random weights never assemble a person (a person needs peaks above 0.1 joined by PAFs pointing
along the limb at 9 of 10 samples), so the tiny preset overwrites a few channels of stages 5 and
6 with a position code; every other weight stays random and still shapes the outputs a little.

* One feature channel is the constant 1 (zero weights, bias 1 in ``conv4_4_CPM``).
* Stage 5's heatmap branch counts, through the zero padding of its five 7x7 convs, each cell's
  distance to the four map borders (saturating at 15 cells); its first five heatmaps carry them.
* Stage 6's heatmap branch turns them into the cell's row and its signed column offset from the
  image centre, then into hinge terms |row - r| and |offset| - d, and its last conv (plus the
  ports' final ReLU) into a pyramid per part: 1 - |row - r|/1.5 - ||offset| - d|/1.5, minus a
  penalty on the wrong side of the image.
* Stage 6's PAFs are the template's limb directions (biases) plus small random terms.

So on a 184x144 network input (any 3:4 portrait) the heatmaps peak at a fixed standing pose
centred in the frame, sized like the synthetic figures of ``datasets/synthetic.py``, and one
person with all 18 keypoints is assembled; the image only moves them slightly.
"""

from __future__ import annotations

import numpy as np

from vtonpipe.labels.pose import COCO18, LIMBS, NUM_HEATMAP_CHANNELS, NUM_PAF_CHANNELS

MAP_ROWS = 23  # 184 / 8
SATURATION = 15  # cells: five 7x7 convs reach 3 cells each
HALF_WIDTH = 1.5  # pyramid half-width in cells
SIDE_PENALTY = 4.0
CENTRE_OFFSET = 0.375  # cells from the padded map's centre to the image's (138 of 144 pixels)
RANDOM_OUTPUT_SCALE = 0.02  # the random part of the last convs of stage 6

# Template joints in units of 1/256 of the image height: (side, |x offset| from the centre, y).
# side -1 = the image's left (the person's right), +1 = the image's right.
_JOINTS = {
    "Nose": (0, 0, 37), "Neck": (0, 0, 57),
    "RShoulder": (-1, 30, 57), "RElbow": (-1, 30, 96), "RWrist": (-1, 30, 136),
    "LShoulder": (1, 30, 57), "LElbow": (1, 30, 96), "LWrist": (1, 30, 136),
    "RHip": (-1, 12, 136), "RKnee": (-1, 12, 186), "RAnkle": (-1, 12, 236),
    "LHip": (1, 12, 136), "LKnee": (1, 12, 186), "LAnkle": (1, 12, 236),
    "REye": (-1, 6, 30), "LEye": (1, 6, 30), "REar": (-1, 12, 30), "LEar": (1, 12, 30),
}  # fmt: skip


def _cells(units: float) -> float:
    """A length in 1/256 of the image height -> output cells (184-pixel input, stride 8)."""
    return units / 256 * MAP_ROWS


def template_cells() -> dict[str, tuple[int, float, float]]:
    """Per part: (side, |column offset| in cells, row in cells of the 23-row map)."""
    return {name: (side, _cells(d), _cells(y) - 0.5) for name, (side, d, y) in _JOINTS.items()}


def _conv(state: dict[str, np.ndarray], key: str, designed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weight and bias of a conv whose first `designed` outputs are set by hand: those rows are
    cleared; random outputs keep their weights (they may read the designed inputs)."""
    weight, bias = state[f"{key}.weight"], state[f"{key}.bias"]
    weight[:designed] = 0
    bias[:designed] = 0
    return weight, bias


def _tap(weight: np.ndarray, out: int, inp: int, value: float, dy: int = 0, dx: int = 0) -> None:
    k = weight.shape[2] // 2
    weight[out, inp, k + dy, k + dx] += value


def _stage5_distances(state: dict[str, np.ndarray], feature_const: int) -> None:
    """Stage 5 heatmaps 0-4: constant, distance to left, right, top, bottom border (cells, <= 15)."""
    directions = {1: (0, -1), 2: (0, 1), 3: (-1, 0), 4: (1, 0)}
    for layer in range(1, 6):
        w, _ = _conv(state, f"model5_2.Mconv{layer}_stage5_L2", 5)
        const = feature_const if layer == 1 else 0
        _tap(w, 0, const, 1.0)
        for channel, (sy, sx) in directions.items():
            for step in (1, 2, 3):
                _tap(w, channel, const, 1.0, sy * step, sx * step)
            if layer > 1:  # plus the previous count three cells further
                _tap(w, channel, channel, 1.0, 3 * sy, 3 * sx)
    w, _ = _conv(state, "model5_2.Mconv6_stage5_L2", 5)
    for c in range(5):
        _tap(w, c, c, 1.0)
    w, _ = _conv(state, "model5_2.Mconv7_stage5_L2", 5)
    for c in range(5):
        _tap(w, c, c, 1.0)


def _stage6_pyramids(state: dict[str, np.ndarray]) -> None:
    """Stage 6 heatmaps 0-17: one pyramid per part at its template cell."""
    cells = template_cells()
    rows = sorted({r for _, _, r in cells.values()})
    offsets = sorted({d for _, d, _ in cells.values() if d > 0})
    heat5 = NUM_PAF_CHANNELS  # stage input index of stage 5's heatmap 0
    const, left, right, top, bottom = (heat5 + i for i in range(5))
    low = MAP_ROWS - 1 - SATURATION
    # Mconv1: 0 const, 1 top, 2 bottom, 3 relu(bottom - low), 4 +offset, 5 -offset.
    w, _ = _conv(state, "model6_2.Mconv1_stage6_L2", 6)
    for out, inp in ((0, const), (1, top), (2, bottom), (3, bottom)):
        _tap(w, out, inp, 1.0)
    _tap(w, 3, const, -low)
    for out, sign in ((4, 1.0), (5, -1.0)):
        _tap(w, out, left, 0.5 * sign)
        _tap(w, out, right, -0.5 * sign)
        _tap(w, out, const, CENTRE_OFFSET * sign)
    # Mconv2: 0 const, 1 row = top - bottom + low + relu(bottom - low), 2 +offset, 3 -offset, 4 |offset|.
    w, _ = _conv(state, "model6_2.Mconv2_stage6_L2", 5)
    _tap(w, 0, 0, 1.0)
    for inp, value in ((1, 1.0), (2, -1.0), (0, float(low)), (3, 1.0)):
        _tap(w, 1, inp, value)
    _tap(w, 2, 4, 1.0)
    _tap(w, 3, 5, 1.0)
    _tap(w, 4, 4, 1.0)
    _tap(w, 4, 5, 1.0)
    # Mconv3: hinges. 0 const, 1 +offset, 2 -offset, 3 |offset|, then per row r: relu(row - r),
    # relu(r - row), then per offset d: relu(|offset| - d), relu(d - |offset|).
    hinges = [("row", r) for r in rows] + [("offset", d) for d in offsets]
    designed = 4 + 2 * len(hinges)
    channels = state["model6_2.Mconv3_stage6_L2.weight"].shape[0]
    if channels < designed:
        raise ValueError(f"the pose template needs {designed} channels per stage, the weights have {channels} "
                         "(use a width of at least 12)")
    w, _ = _conv(state, "model6_2.Mconv3_stage6_L2", designed)
    for out, inp in ((0, 0), (1, 2), (2, 3), (3, 4)):
        _tap(w, out, inp, 1.0)
    index = {}
    for n, (kind, value) in enumerate(hinges):
        source = 1 if kind == "row" else 4
        up, down = 4 + 2 * n, 5 + 2 * n
        _tap(w, up, source, 1.0)
        _tap(w, up, 0, -value)
        _tap(w, down, source, -1.0)
        _tap(w, down, 0, value)
        index[kind, value] = (up, down)
    for layer in (4, 5, 6):
        w, _ = _conv(state, f"model6_2.Mconv{layer}_stage6_L2", designed)
        for c in range(designed):
            _tap(w, c, c, 1.0)
    w, b = state["model6_2.Mconv7_stage6_L2.weight"], state["model6_2.Mconv7_stage6_L2.bias"]
    w *= RANDOM_OUTPUT_SCALE
    w[:, :designed] = 0
    b[:NUM_HEATMAP_CHANNELS - 1] = 0
    for name, (side, d, r) in cells.items():
        part = COCO18[name]
        _tap(w, part, 0, 1.0)
        for c in index["row", r]:
            _tap(w, part, c, -1.0 / HALF_WIDTH)
        if d > 0:
            for c in index["offset", d]:
                _tap(w, part, c, -1.0 / HALF_WIDTH)
        else:
            _tap(w, part, 3, -1.0 / HALF_WIDTH)
        if side:  # the wrong side of the centre: +offset for the image's left, -offset for its right
            _tap(w, part, 1 if side < 0 else 2, -SIDE_PENALTY)


def _stage6_limb_directions(state: dict[str, np.ndarray]) -> None:
    """Stage 6 PAFs: each limb's unit direction A -> B in the template, plus small random terms."""
    names = list(COCO18)
    cells = template_cells()
    w, b = state["model6_1.Mconv7_stage6_L1.weight"], state["model6_1.Mconv7_stage6_L1.bias"]
    w *= RANDOM_OUTPUT_SCALE
    for part_a, part_b, cx, cy in LIMBS:
        (sa, da, ra), (sb, db, rb) = cells[names[part_a]], cells[names[part_b]]
        vx, vy = sb * db - sa * da, rb - ra
        norm = float(np.hypot(vx, vy))
        b[cx], b[cy] = vx / norm, vy / norm


def add_pose_template(state: dict[str, np.ndarray]) -> None:
    """Overwrite, in place, the template's channels of a random state dict (model keys, numpy)."""
    w, b = state["model0.conv4_4_CPM.weight"], state["model0.conv4_4_CPM.bias"]
    w[0], b[0] = 0.0, 1.0
    _stage5_distances(state, feature_const=NUM_PAF_CHANNELS + NUM_HEATMAP_CHANNELS)
    _stage6_pyramids(state)
    _stage6_limb_directions(state)
