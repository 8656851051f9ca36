"""A restricted unpickler for detectron2 ``.pkl`` checkpoints: numpy arrays and plain containers.

Plain pickle runs any callable a file names; these files come from the internet. Only the
globals numpy needs to rebuild arrays (and ``_codecs.encode``, which protocol-2 pickles use for
raw bytes) are resolved; every other global is refused before it is imported.
"""

from __future__ import annotations

import _codecs
import collections
import io
import os
import pickle
from typing import Any

import numpy as np

from vtonpipe.errors import ModelFilesError

# numpy 1.x pickles name numpy.core.*, numpy 2.x numpy._core.*: both map to what this numpy has.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("_codecs", "encode"): _codecs.encode,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _core in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = np._core.multiarray._reconstruct
    _ALLOWED[(f"{_core}.multiarray", "scalar")] = np._core.multiarray.scalar
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = np._core.numeric._frombuffer


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the allow-listed numpy globals."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: only numpy arrays are allowed") from None


def _check_plain(obj: Any, where: str = "") -> None:
    """Refuse object arrays and anything that is not a container, string, number or array."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise pickle.UnpicklingError(f"object array at {where or '<root>'}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(v, f"{where}/{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(obj, (str, bytes, int, float, bool, type(None), np.generic)):
        raise pickle.UnpicklingError(f"unexpected {type(obj).__name__} at {where or '<root>'}")


def loads(data: bytes) -> Any:
    """Unpickle bytes through the allow-list (latin1 decodes Python 2 pickles, as detectron2 does)."""
    obj = RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    _check_plain(obj)
    return obj


def load_pickle(path: str | os.PathLike) -> Any:
    """Read a checkpoint pickle; refused or corrupt content raises ModelFilesError naming the file."""
    try:
        with open(path, "rb") as f:
            return loads(f.read())
    except FileNotFoundError:
        raise ModelFilesError(f"{path}: file not found") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ModelFilesError(f"{path}: not a plain numpy checkpoint pickle ({exc})") from None
