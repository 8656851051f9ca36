"""Selecting pixels of a label map by class name, for any of the label tables.

A mapping is name -> id (``LIP.ids``) or name -> ids (``PART_GROUPS``). A name a map does not
have (ATR has no Coat, LIP has no Bag) simply selects nothing in that map.
"""

from __future__ import annotations

import numpy as np

from vtonpipe.labels.densepose import NUM_PARTS
from vtonpipe.labels.parsing import ATR, LIP

# Classes per map kind, background included.
NUM_CLASSES = {"lip": LIP.num_classes, "atr": ATR.num_classes, "densepose": NUM_PARTS + 1}


def part_ids(names: list[str] | tuple[str, ...], mapping: dict) -> list[int]:
    """Ids of `names` in `mapping`; names the map lacks are skipped."""
    ids: list[int] = []
    for name in names:
        value = mapping.get(name)
        if value is not None:
            ids.extend(value if isinstance(value, tuple) else (value,))
    return ids


def part_mask(labels: np.ndarray, names: list[str] | tuple[str, ...], mapping: dict) -> np.ndarray:
    """Boolean mask of the pixels of `labels` whose class is one of `names`."""
    return np.isin(labels, part_ids(names, mapping))
