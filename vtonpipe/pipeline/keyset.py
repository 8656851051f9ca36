"""Sets of manifest keys in bounded memory: 128 bits per key instead of the key string.

Planning a stage over ten million pairs must not hold ten million key strings in the driver.
A key is represented by two independent 64-bit hashes (Python's SipHash of the key and of the
key plus a separator); two different keys collide with probability about 2^-128 per pair. The
hashes are seeded per process, so a KeySet lives only inside one planning pass.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def key_hashes(keys: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) int64 hashes of string keys (nulls hash like the empty string)."""
    values = ["" if v is None else v for v in keys.to_pylist()]
    hi = np.fromiter(map(hash, values), np.int64, len(values))
    lo = np.fromiter((hash(v + "\x1f") for v in values), np.int64, len(values))
    return hi, lo


def last_of_each(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Indices of the last occurrence of every distinct (hi, lo), in key order."""
    order = np.lexsort((lo, hi))  # stable: equal keys keep their original (oldest first) order
    if len(order) == 0:
        return order
    h, l = hi[order], lo[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (h[1:] != h[:-1]) | (l[1:] != l[:-1])
    return order[last]


class KeySet:
    """Sorted distinct (hi, lo) hashes with a small integer tag per key."""

    def __init__(self, hi: np.ndarray, lo: np.ndarray, tags: np.ndarray):
        order = np.lexsort((lo, hi))
        self.hi, self.lo, self.tags = hi[order], lo[order], tags[order]

    @classmethod
    def empty(cls) -> KeySet:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8))

    def __len__(self) -> int:
        return len(self.hi)

    def lookup(self, hi: np.ndarray, lo: np.ndarray, missing: int) -> np.ndarray:
        """The tag of each queried key, `missing` for keys not in the set."""
        out = np.full(len(hi), missing, dtype=np.int16)
        if len(self.hi) == 0 or len(hi) == 0:
            return out
        left = np.searchsorted(self.hi, hi, side="left")
        right = np.searchsorted(self.hi, hi, side="right")
        for offset in range(int((right - left).max(initial=0))):  # equal hi: compare lo (almost always 0-1 steps)
            idx = left + offset
            hit = (idx < right) & (self.lo[np.minimum(idx, len(self.lo) - 1)] == lo)
            out[hit] = self.tags[idx[hit]]
        return out
