"""The tiny preset: the official graph at small widths, seeded random weights, official pickle layout.

Tiny-preset properties (so tests and the demo see a detection and a non-empty part map):
``cls_score`` has a large person bias (proposals score ~0.99-0.999, above the default 0.8
threshold whatever the image shows) and ``ann_index_lowres`` a foreground bias. The file goes
through the same restricted unpickler, loader and exporter as ``model_final_162be9.pkl``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from vtonpipe.models.common.tiny import TINY_WEIGHTS, phase
from vtonpipe.models.densepose.checkpoint import load_checkpoint
from vtonpipe.models.densepose.definition import DensePoseConfig, DensePoseRCNN
from vtonpipe.models.densepose.export import export_ir

TINY_CONFIG = DensePoseConfig(
    stem_channels=8,
    res2_out_channels=16,
    blocks=(1, 2, 2, 1),
    fpn_channels=16,
    box_fc_dim=32,
    decoder_dims=16,
    head_dim=32,
)
TINY_FILE = "model_final_tiny.pkl"


def tiny_state(seed: int = 0, cfg: DensePoseConfig = TINY_CONFIG) -> dict[str, np.ndarray]:
    """Seeded float32 weights keyed by the official names, scaled to keep activations O(1)."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, tensor in DensePoseRCNN(cfg).state_dict().items():
        shape = tuple(tensor.shape)
        if name.endswith("running_var"):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("norm.weight"):
            # Small gains on the last conv of each block keep the residual sums from growing.
            value = rng.uniform(0.1, 0.3, shape) if ".conv3." in name else rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("bias", "running_mean")):
            value = rng.normal(0.0, 0.05, shape)
        else:
            fan_in = int(np.prod(shape[1:])) if "lowres" not in name else shape[0] * 4
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        state[name] = value.astype(np.float32)
    # Inputs are mean-subtracted pixels (std 1, values up to ~150): scale the stem to O(1) outputs.
    state["backbone.bottom_up.stem.conv1.weight"] /= 64.0
    # Person logit 6 above background, +-~1 from the features: scores ~0.99-0.999, distinct per box.
    state["roi_heads.box_predictor.cls_score.weight"] *= 0.1
    state["roi_heads.box_predictor.cls_score.bias"][:] = [3.0, -3.0]
    state["roi_heads.box_predictor.bbox_pred.weight"] *= 0.1
    # Random deltas would blow every proposal up to the whole image; keep them near their anchors.
    state["proposal_generator.rpn_head.anchor_deltas.weight"] *= 0.05
    state["roi_heads.densepose_predictor.ann_index_lowres.bias"][:] = [-3.0, 3.0]
    return state


def write_tiny_weights(root: str | Path, *, seed: int = 0) -> Path:
    """Write root/TINY_FILE, a pickle shaped like model_final_162be9.pkl: {"model": {name: ndarray},
    "__author__": ...}; returns its path."""
    path = Path(root) / TINY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"model": tiny_state(seed), "__author__": "vtonpipe tiny preset"}, f, protocol=4)
    return path


def build_tiny_ir(out_dir: str | Path, *, seed: int = 0, canvas: int = 128, min_size: int = 96,
                  max_size: int = 128, box_batch: int = 100) -> Path:
    """Tiny weights under out_dir/tiny-weights, converted into the IR folder out_dir (returned).

    The short edge is 96 instead of 800 (max 128 instead of 1333) so the tiny graph runs in ~0.1 s.
    """
    with phase(f"tiny weights written to {Path(out_dir) / TINY_WEIGHTS}"):
        weights = write_tiny_weights(Path(out_dir) / TINY_WEIGHTS, seed=seed)
    with phase(f"converted to OpenVINO IR in {out_dir}"):
        return export_ir(load_checkpoint(weights), out_dir, min_size=min_size, max_size=max_size,
                         canvas=(canvas, canvas), box_batch=box_batch, sources=[weights], variant="tiny")
