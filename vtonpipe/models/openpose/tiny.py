"""The tiny OpenPose preset: seeded random weights in the layout of ``body_pose_model.pth``.

The file is a flat ``{caffe layer.param: tensor}`` dict under the official name, loaded and
exported like the real one. The preset's widths are a quarter of the official ones (``width``
16: VGG 16-32-64-128, 32-channel stages; ``width=64`` gives the official shapes, loadable by the
upstream ``Body`` class). With ``template=True`` (the default) a hand-set position code in stages
5 and 6 (see template.py) makes the network find one standing person centred in any 3:4
portrait, so the pose stage and the agnostic recipes have keypoints to work with; with
``template=False`` the weights are random throughout and, as a rule, nobody is found.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase
from vtonpipe.models.openpose import WEIGHTS_FILE
from vtonpipe.models.openpose.checkpoint import file_key
from vtonpipe.models.openpose.definition import BodyPoseConfig, BodyPoseNet
from vtonpipe.models.openpose.export import DEFAULT_WIDTH, convert
from vtonpipe.models.openpose.template import add_pose_template

TINY_WIDTH = 16


def random_state(cfg: BodyPoseConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """He-scaled float32 conv weights and small biases, keyed by model key."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, ref in BodyPoseNet(cfg).state_dict().items():
        shape = tuple(ref.shape)
        if key.endswith(".weight"):
            value = rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), shape)
        else:
            value = rng.normal(0.0, 0.05, shape)
        state[key] = value.astype(np.float32)
    return state


def write_tiny_weights(root: str | os.PathLike, *, seed: int = 0, width: int = TINY_WIDTH,
                       template: bool = True) -> Path:
    """Write ``root/body_pose_model.pth`` (flat dict, Caffe layer names) and return its path."""
    state = random_state(BodyPoseConfig(width=width), seed)
    if template:
        add_pose_template(state)
    path = Path(root) / WEIGHTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({file_key(key): torch.from_numpy(value) for key, value in state.items()}, path)
    return path


def build_tiny_ir(out_dir: str | os.PathLike, *, seed: int = 0, width: int = TINY_WIDTH,
                  template: bool = True, net_width: int = DEFAULT_WIDTH) -> Path:
    """Tiny weights under ``out_dir/tiny-weights``, converted into the IR folder ``out_dir``."""
    out_dir = Path(out_dir)
    with phase(f"tiny weights written to {out_dir / TINY_WEIGHTS}"):
        weights = write_tiny_weights(out_dir / TINY_WEIGHTS, seed=seed, width=width, template=template)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return convert(weights, out_dir, width=net_width, variant="tiny")
