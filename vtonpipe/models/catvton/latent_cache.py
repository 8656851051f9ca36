"""Latents reused across the pairs of a runtime's lifetime, and a pair order that makes reuse happen.

A catalog pairs every person with every garment, so one garment latent (and one masked-person
latent: a person with the mask of one garment category) serves many pairs. The runtime keeps them
in a LatentCache keyed by the caller's ids; `sharing_order` orders pairs so that an LRU cache
encodes each as few times as possible.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence

import numpy as np


class LatentCache:
    """LRU map key -> latent array, bounded by the bytes of the arrays it holds.

    `hits` and `misses` count lookups; a cache of 0 bytes holds nothing.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> np.ndarray | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        if key in self._items:
            self.nbytes -= self._items.pop(key).nbytes
        if value.nbytes > self.max_bytes:
            return
        self._items[key] = value
        self.nbytes += value.nbytes
        while self.nbytes > self.max_bytes:
            self.nbytes -= self._items.popitem(last=False)[1].nbytes

    def clear(self) -> None:
        """Drop every latent and reset the counts."""
        self._items.clear()
        self.nbytes = 0
        self.hits = self.misses = 0


def _first_seen(keys: Sequence[Hashable]) -> dict[Hashable, int]:
    order: dict[Hashable, int] = {}
    for key in keys:
        order.setdefault(key, len(order))
    return order


def sharing_order(person_keys: Sequence[Hashable], garment_keys: Sequence[Hashable]) -> list[int]:
    """A permutation of pair indices 0..n-1 that groups pairs sharing a latent.

    Pairs are grouped by the key with fewer distinct values (each group's latent is then encoded
    once), groups in first-seen order; inside a group pairs follow the other key's first-seen
    order, reversed in every other group, so an LRU cache too small for all of the other key's
    latents still reuses the ones used last. Stable: equal pairs keep their input order.
    """
    if len(person_keys) != len(garment_keys):
        raise ValueError(f"{len(person_keys)} person keys for {len(garment_keys)} garment keys")
    persons, garments = _first_seen(person_keys), _first_seen(garment_keys)
    if len(garments) <= len(persons):
        outer, inner, outer_keys, inner_keys = garments, persons, garment_keys, person_keys
    else:
        outer, inner, outer_keys, inner_keys = persons, garments, person_keys, garment_keys

    def rank(i: int) -> tuple[int, int, int]:
        group, within = outer[outer_keys[i]], inner[inner_keys[i]]
        return group, -within if group % 2 else within, i

    return sorted(range(len(person_keys)), key=rank)
