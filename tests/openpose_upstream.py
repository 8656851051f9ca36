"""The upstream OpenPose body estimators, unpacked at test time (see tests/upstream.py).

controlnet10: Hzzone/pytorch-openpose ``src/`` (the code ControlNet 1.0's annotator copies).
controlnet11: OOTDiffusion ``preprocess/openpose/annotator/openpose/`` (the ControlNet 1.1 edit that
the StableVITON Space and IDM-VTON copy too).

Their modules import matplotlib and torchvision for drawing and unused transforms; where those
are not installed, empty stand-in modules are registered for the import only.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from upstream import extract

SOURCES = {
    "controlnet10": ("Hzzone/pytorch-openpose", "src",
                     ["src/__init__.py", "src/body.py", "src/model.py", "src/util.py"]),
    "controlnet11": ("levihsu/OOTDiffusion", "preprocess/openpose/annotator/openpose",
                     [f"preprocess/openpose/annotator/openpose/{f}" for f in ("body.py", "model.py", "util.py")]),
}
# Upstream commits these tests were written against; another snapshot HEAD runs with a warning.
COMMITS = {
    "Hzzone/pytorch-openpose": "5ee71dc10020403dc3def2bb68f9b77c40337ae2",
    "levihsu/OOTDiffusion": "13ef0faba266cdde9febc8ad39be2395bbb89d9c",
    "sangyun884/HR-VITON": "2715bdd687b3a07b8b8bcb3e44aa5533b28c1f15",
    "shadow2496/VITON-HD": "02afa4b5228786238f164be347ddadfead221482",
}
_STAND_INS = ("matplotlib", "matplotlib.pyplot", "matplotlib.figure", "matplotlib.backends",
              "matplotlib.backends.backend_agg", "torchvision", "torchvision.transforms")


def _extract(repo: str, files: list[str], into: Path) -> tuple[Path, str]:
    root, commit = extract(repo, files, into)
    if commit != COMMITS[repo]:
        warnings.warn(f"upstream {repo} snapshot is at {commit}, the parity tests were written against {COMMITS[repo]}")
    return root, commit


def _stand_ins() -> list[str]:
    added = []
    for name in _STAND_INS:
        try:
            importlib.import_module(name)
        except ImportError:
            module = types.ModuleType(name)
            module.__getattr__ = lambda attr: None  # Figure, FigureCanvas, transforms.Compose ... never called
            sys.modules[name] = module
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, module)
            added.append(name)
    return added


@contextmanager
def upstream_file(repo: str, path: str, tmp_path: Path):
    """Import one upstream file as a module; yields (module, commit)."""
    root, commit = _extract(repo, [path], tmp_path / repo.replace("/", "+"))
    added = _stand_ins()
    name = "upstream_" + Path(path).stem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            spec = importlib.util.spec_from_file_location(name, root / path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        yield module, commit
    finally:
        for stand_in in added:
            sys.modules.pop(stand_in, None)


@contextmanager
def upstream_module(repo: str, folder: str, files: list[str], module: str, tmp_path: Path):
    """Import `module` of the unpacked upstream `folder`, as a package named after the folder
    (Hzzone's modules import ``src.util`` by that name); yields (module, commit)."""
    root, commit = _extract(repo, files, tmp_path / repo.replace("/", "+"))
    package_dir = root / folder
    package = package_dir.name
    if package in sys.modules:
        raise RuntimeError(f"a module named {package!r} is already imported; cannot load upstream {repo}")
    (package_dir / "__init__.py").touch()  # OOTDiffusion's own __init__ pulls in the hand/face models
    added = _stand_ins()
    sys.path.insert(0, str(package_dir.parent))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # scipy.ndimage.filters
            yield importlib.import_module(f"{package}.{module}"), commit
    finally:
        sys.path.remove(str(package_dir.parent))
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")] + added:
            sys.modules.pop(name, None)


@contextmanager
def official_body(variant: str, tmp_path: Path):
    """The upstream ``Body`` class of `variant`; yields (Body, commit)."""
    repo, folder, files = SOURCES[variant]
    with upstream_module(repo, folder, files, "body", tmp_path) as (body, commit):
        yield body.Body, commit


class FixedOutputs(torch.nn.Module):
    """Stands in for the network: returns given (PAFs, heatmaps) for an input of the expected size."""

    def __init__(self, heatmaps: np.ndarray, pafs: np.ndarray, input_hw: tuple[int, int]):
        super().__init__()
        self.outputs = (torch.from_numpy(pafs[None]), torch.from_numpy(heatmaps[None]))
        self.input_hw = input_hw

    def forward(self, x):
        assert tuple(x.shape[2:]) == self.input_hw, (x.shape, self.input_hw)
        return self.outputs


def body_with_outputs(body_cls, heatmaps: np.ndarray, pafs: np.ndarray, input_hw: tuple[int, int]):
    """An upstream Body whose network returns the given maps (its __init__ would load a file)."""
    body = body_cls.__new__(body_cls)
    body.model = FixedOutputs(heatmaps, pafs, input_hw)
    return body
