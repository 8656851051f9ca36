"""Per-row seeds: a row's randomness depends on (run seed, row key) only."""

from __future__ import annotations

import hashlib


def row_seed(seed: int, key: str) -> int:
    """A 63-bit seed derived from the run seed and a row key (stable across processes)."""
    digest = hashlib.sha256(f"{int(seed)}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
