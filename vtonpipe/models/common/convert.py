"""What every family's converter shares (the `convert` extra: torch): safe checkpoint reading,
strict loading that names what does not match, and torch -> OpenVINO with static named ports.

Checkpoints are untrusted files. They are read with safetensors, `torch.load(weights_only=True)`
(optionally allowing a few named globals, e.g. a numpy scalar), or the numpy-only restricted
unpickler for detectron2 pickles; plain pickle is never used.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import openvino as ov
import torch

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.unpickle import load_pickle


def read_checkpoint(path: str | os.PathLike, *, allow_globals: Sequence[Any] = ()) -> Any:
    """The object stored in a checkpoint file, read safely by its suffix.

    ``.safetensors``: a tensor dict. ``.pkl``: the numpy-only unpickler. Anything else:
    ``torch.load(weights_only=True)``, with `allow_globals` added to torch's safe globals.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFilesError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types
            raise ModelFilesError(f"{path}: not a safetensors file ({exc})") from None
    if path.suffix == ".pkl":
        return load_pickle(path)
    try:
        with torch.serialization.safe_globals(list(allow_globals)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors alike
        # torch's own text suggests weights_only=False or allow-listing, i.e. trusting the file: not shown.
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        reason = f"it holds the object {found.group(1)}, which a weights file needs not" if found else \
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else 'unreadable'}"
        raise ModelFilesError(f"{path}: refused, not a weights-only torch file ({reason})") from None


def state_dict_of(obj: Any, source: str, *, wrappers: Iterable[str] = ("state_dict", "model"),
                  strip_prefix: str = "") -> dict[str, torch.Tensor]:
    """The tensor dict inside a loaded checkpoint: unwrap the first of `wrappers` present, drop
    `strip_prefix` from the keys, and refuse anything that is not a tensor."""
    state = obj
    if isinstance(state, Mapping):
        for name in wrappers:
            if isinstance(state.get(name), Mapping):
                state = state[name]
                break
    if not isinstance(state, Mapping) or not state:
        raise ModelFilesError(f"{source} holds no state_dict")
    out = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ModelFilesError(f"{source}: entry {key!r} is not a tensor ({type(value).__name__})")
        out[key[len(strip_prefix):] if strip_prefix and key.startswith(strip_prefix) else key] = value
    return out


def name_list(keys: Iterable[str], limit: int = 12) -> str:
    keys = sorted(keys)
    more = f" ... ({len(keys)} in all)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True) after checking keys and shapes, so an error names each key."""
    expected = module.state_dict()
    missing = expected.keys() - state.keys()
    unexpected = state.keys() - expected.keys()
    misshapen = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
                 for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = []
    if missing:
        problems.append(f"missing keys: {name_list(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {name_list(unexpected)}")
    if misshapen:
        problems.append(f"mis-shaped tensors: {name_list(misshapen)}")
    if problems:
        raise ModelFilesError(f"{source} does not match the model: " + "; ".join(problems))
    module.load_state_dict(dict(state), strict=True)


def to_openvino(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    input_names: Sequence[str],
    output_names: Sequence[str],
    *,
    method: str = "export",
    dynamic_batch: Sequence[str] = (),
) -> ov.Model:
    """Convert `module` at the static shapes of `example`, naming inputs and outputs.

    method "export" goes through torch.export (several times faster to convert than tracing,
    with identical results); "trace" through TorchScript tracing, for modules torch.export
    cannot take (scripted archives). Inputs named in `dynamic_batch` are exported with a symbolic
    first dimension: the saved IR is still static, but `ov.Model.reshape` can later change its
    batch (a graph exported at fixed sizes bakes the batch into its reshapes).
    """
    unknown = set(dynamic_batch) - set(input_names)
    if unknown or (dynamic_batch and method != "export"):
        raise ValueError(f"dynamic_batch names inputs of an exported graph, got {sorted(dynamic_batch)}")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch-internal pytree deprecation noise
        if method == "export":
            dims = tuple({0: torch.export.Dim.DYNAMIC} if name in dynamic_batch else None for name in input_names)
            program = torch.export.export(module.eval(), example, dynamic_shapes=dims if dynamic_batch else None)
            model = ov.convert_model(program)
        elif method == "trace":
            model = ov.convert_model(module.eval(), example_input=example,
                                     input=[ov.PartialShape(list(t.shape)) for t in example])
        else:
            raise ValueError(f"method must be 'export' or 'trace', got {method!r}")
    if len(model.inputs) != len(input_names) or len(model.outputs) != len(output_names):
        raise ValueError(f"the graph has {len(model.inputs)} inputs and {len(model.outputs)} outputs, "
                         f"named {list(input_names)} and {list(output_names)}")
    for port, name in zip(model.inputs, input_names):
        port.get_tensor().set_names({name})
    # Static shapes run faster and fail loudly on misuse.
    model.reshape({name: ov.PartialShape(list(t.shape)) for name, t in zip(input_names, example)})
    for port, name in zip(model.outputs, output_names):
        port.get_tensor().set_names({name})
    return model
