"""Load PF-AFN's official checkpoints (``PFAFN/warp_model_final.pth``, ``PFAFN/gen_model_final.pth``).

Each file is a bare state dict (saved from the unwrapped network, no ``module.`` prefix), read
safely onto the CPU whatever device it was saved from. Keys must match exactly; a missing,
unexpected or mis-shaped key is a ModelFilesError naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vtonpipe.errors import ModelFilesError
from vtonpipe.models.common.convert import load_strict, read_checkpoint, state_dict_of
from vtonpipe.models.pfafn import WEIGHT_DIR, WEIGHT_FILES
from vtonpipe.models.pfafn.definition import AFWM, ResUnetGenerator


@dataclass
class PFAFNCheckpoint:
    """The loaded networks (eval mode) and the files they came from."""

    warp: AFWM
    generator: ResUnetGenerator
    sources: list[Path]


def weight_paths(folder: str | os.PathLike) -> list[Path]:
    """The two official files under `folder`/PFAFN (or in `folder` itself when it is that PFAFN folder)."""
    folder = Path(folder)
    for candidate in (folder / WEIGHT_DIR, folder):
        paths = [candidate / name for name in WEIGHT_FILES]
        if all(p.is_file() for p in paths):
            return paths
    expected = [str(folder / WEIGHT_DIR / name) for name in WEIGHT_FILES]
    missing = [p for p in expected if not Path(p).is_file()]
    raise ModelFilesError(f"missing {', '.join(missing)}: pass the folder holding PF-AFN's {WEIGHT_DIR}/ "
                          f"(its checkpoints/ folder) with {' and '.join(WEIGHT_FILES)}")


def load_checkpoint(folder: str | os.PathLike) -> PFAFNCheckpoint:
    """Both official files under `folder`, loaded strictly into fresh networks."""
    warp_path, gen_path = weight_paths(folder)
    warp, generator = AFWM(), ResUnetGenerator()
    for module, path in ((warp, warp_path), (generator, gen_path)):
        load_strict(module, state_dict_of(read_checkpoint(path), str(path), wrappers=()), str(path))
    return PFAFNCheckpoint(warp.eval(), generator.eval(), [warp_path, gen_path])
