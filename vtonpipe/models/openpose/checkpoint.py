"""Load ``body_pose_model.pth``: a flat tensor dict keyed by Caffe layer name (``conv1_1.weight``,
``Mconv7_stage6_L2.bias``), read with weights-only torch loading.

The loader of the ports takes, for every model key ``<block>.<layer>.<param>``, the file entry
``<layer>.<param>`` (the key without its first dotted part) and ignores other entries of the file;
layer names are unique across blocks. Here a missing or mis-shaped entry is a ModelFilesError
naming it. The channel width is read off ``conv1_1.weight`` (64 in the official file).
"""

from __future__ import annotations

import os

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.convert import load_strict, read_checkpoint, state_dict_of
from vtonpipe.models.openpose.definition import BodyPoseConfig, BodyPoseNet

WIDTH_KEY = "conv1_1.weight"


def file_key(model_key: str) -> str:
    """The checkpoint entry for a model key: the key without its block prefix."""
    return model_key.split(".", 1)[1]


def load_checkpoint(path: str | os.PathLike) -> BodyPoseNet:
    """The network `path` describes, strictly loaded, in eval mode."""
    source = str(path)
    state = state_dict_of(read_checkpoint(path), source, wrappers=())
    if WIDTH_KEY not in state:
        raise ModelFilesError(f"{source} lacks {WIDTH_KEY!r}: not an OpenPose body_pose_model.pth")
    model = BodyPoseNet(BodyPoseConfig(width=int(state[WIDTH_KEY].shape[0])))
    wanted = {key: file_key(key) for key in model.state_dict()}
    missing = sorted(name for name in wanted.values() if name not in state)
    if missing:
        shown = ", ".join(missing[:12]) + (f" ... ({len(missing)} in all)" if len(missing) > 12 else "")
        raise ModelFilesError(f"{source} does not match the OpenPose body model: missing keys: {shown}")
    load_strict(model, {key: state[name] for key, name in wanted.items()}, source)
    return model.eval()
