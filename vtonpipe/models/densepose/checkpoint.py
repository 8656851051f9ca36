"""Load the official ``model_final_162be9.pkl`` (or a tiny one in its layout) into the definition."""

from __future__ import annotations

import os

import numpy as np
import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.convert import load_strict, read_checkpoint
from vtonpipe.models.densepose.definition import DensePoseConfig, DensePoseRCNN


def read_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ``{"model": {name: ndarray}}`` mapping of a detectron2 checkpoint pickle."""
    obj = read_checkpoint(path)
    state = obj.get("model") if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ModelFilesError(f"{path}: expected a detectron2 pickle {{'model': {{name: ndarray}}}}")
    return state


def infer_config(state: dict[str, np.ndarray]) -> DensePoseConfig:
    """Widths and depths from the tensor shapes, so official and tiny files share one loader."""
    try:
        depth = tuple(
            len({k.split(".")[3] for k in state if k.startswith(f"backbone.bottom_up.res{s}.")}) for s in range(2, 6)
        )
        fc1 = state["roi_heads.box_head.fc1.weight"]
        fpn = state["backbone.fpn_output2.weight"].shape[0]
        return DensePoseConfig(
            stem_channels=state["backbone.bottom_up.stem.conv1.weight"].shape[0],
            res2_out_channels=state["backbone.bottom_up.res2.0.conv3.weight"].shape[0],
            blocks=depth,
            fpn_channels=fpn,
            num_anchors=state["proposal_generator.rpn_head.objectness_logits.weight"].shape[0],
            box_fc_dim=fc1.shape[0],
            box_pooler=int(round((fc1.shape[1] / fpn) ** 0.5)),
            decoder_dims=state["roi_heads.decoder.predictor.weight"].shape[0],
            head_dim=state["roi_heads.densepose_head.body_conv_fcn1.weight"].shape[0],
            head_convs=sum(1 for k in state if k.startswith("roi_heads.densepose_head.") and k.endswith(".weight")),
            num_patches=state["roi_heads.densepose_predictor.index_uv_lowres.weight"].shape[1] - 1,
            coarse_channels=state["roi_heads.densepose_predictor.ann_index_lowres.weight"].shape[1],
        )
    except (KeyError, IndexError) as exc:
        raise ModelFilesError(f"checkpoint lacks {exc} needed to size the model: not a DensePose R-CNN file") from None


def load_checkpoint(path: str | os.PathLike) -> DensePoseRCNN:
    """Build the definition sized from the file and load every tensor; any key mismatch is an error."""
    state = read_state(path)
    model = DensePoseRCNN(infer_config(state))
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()}
    load_strict(model, tensors, f"{path} (DensePose R50-FPN)")
    return model.eval()
