"""OpenPose body post-processing: heatmap peaks, PAF line integrals, greedy person assembly.

The rules and their float arithmetic are those of the ports the try-on demos run, so the
candidates and persons come out identical for identical full-resolution maps:

* peaks: the part's map smoothed by ``scipy.ndimage.gaussian_filter(sigma=3)`` (float64,
  reflect, radius 12); a pixel is a peak when its smoothed value is > 0.1 and >= each of its four
  neighbours (0 outside the image); score = the unsmoothed value; row-major order; ids
  consecutive over parts 0..17.
* limbs: for every candidate pair of a limb, 10 points evenly spaced from A to B (rounded half
  to even) sample the two PAF channels; each sample's projection on the unit vector A->B must
  exceed 0.05 for at least 9 of them and their mean plus min(0.5 x image height / |AB| - 1, 0)
  must be > 0; accepted pairs are taken greedily by that score (stable), each candidate once.
* assembly: limbs in order; a connection extends the person holding one of its ends, merges two
  persons that share no part, or starts a new person (not for the two shoulder-ear limbs);
  persons with fewer than 4 parts or a mean score below 0.4 are dropped.

Only the work is cut: each part is smoothed on a box around the pixels that can reach 0.1, and
the PAFs are read at the sample points alone (see resize.py). Where the ports would raise an
IndexError (a connection touching three persons), the first two persons are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from vtonpipe.labels.pose import LIMBS, NUM_PARTS

SIGMA = 3.0
RADIUS = 12  # scipy's truncate 4.0 x sigma 3
PEAK_THRESHOLD = 0.1
# Full-resolution values at or below this cannot smooth to above PEAK_THRESHOLD (the Gaussian's
# weights are positive and sum to 1; the margin covers float rounding).
REGION_THRESHOLD = PEAK_THRESHOLD * (1 - 1e-6)
PAF_THRESHOLD = 0.05
SAMPLES = 10
MIN_SAMPLES_ABOVE = 0.8 * SAMPLES
MIN_PARTS = 4
MIN_MEAN_SCORE = 0.4
NO_START_LIMBS = 17  # limbs from this index on (shoulder-ear) never start a person


def _grow(box: tuple[int, int, int, int], by: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    r0, r1, c0, c1 = box
    return max(r0 - by, 0), min(r1 + by, shape[0]), max(c0 - by, 0), min(c1 + by, shape[1])


def part_peaks(maps, part: int) -> np.ndarray:
    """(n, 3) float64 [x, y, score] of one part's peaks in row-major order."""
    region = maps.heatmap_region(part)
    if region is None:
        return np.zeros((0, 3))
    # Peaks lie within RADIUS of a value above REGION_THRESHOLD, their neighbours one further,
    # and the filter reads RADIUS more: the smoothed values are exact inside `core`.
    outer = _grow(region, 2 * RADIUS + 1, maps.shape)
    values = maps.heatmap(part, *outer)
    rows, cols = np.nonzero(values > REGION_THRESHOLD)
    if rows.size == 0:
        return np.zeros((0, 3))
    tight = (outer[0] + int(rows.min()), outer[0] + int(rows.max()) + 1,
             outer[2] + int(cols.min()), outer[2] + int(cols.max()) + 1)
    core = _grow(tight, RADIUS + 1, maps.shape)
    box = _grow(core, RADIUS, maps.shape)
    values = values[box[0] - outer[0]:box[1] - outer[0], box[2] - outer[2]:box[3] - outer[2]]
    smooth = gaussian_filter(values.astype(np.float64), sigma=SIGMA)
    padded = np.pad(smooth, 1)
    peak = ((smooth >= padded[:-2, 1:-1]) & (smooth >= padded[2:, 1:-1]) & (smooth >= padded[1:-1, :-2])
            & (smooth >= padded[1:-1, 2:]) & (smooth > PEAK_THRESHOLD))
    inner = np.zeros_like(peak)
    inner[core[0] - box[0]:core[1] - box[0], core[2] - box[2]:core[3] - box[2]] = True
    ys, xs = np.nonzero(peak & inner)
    return np.stack([xs + box[2], ys + box[0], values[ys, xs]], axis=1).astype(np.float64)


def find_candidates(maps) -> tuple[np.ndarray, list[np.ndarray]]:
    """(candidate (N, 4) float64 [x, y, score, id], per part the candidate ids)."""
    peaks = [part_peaks(maps, part) for part in range(NUM_PARTS)]
    counts = np.cumsum([0] + [len(p) for p in peaks])
    ids = [np.arange(counts[p], counts[p + 1]) for p in range(NUM_PARTS)]
    stacked = np.concatenate(peaks) if counts[-1] else np.zeros((0, 3))
    candidate = np.concatenate([stacked, np.arange(counts[-1], dtype=np.float64)[:, None]], axis=1)
    return candidate, ids


def _pair_scores(maps, limb: tuple[int, int, int, int], cand_a: np.ndarray, cand_b: np.ndarray,
                 height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every (i, j), i-major: (i, j, score with distance prior, accepted)."""
    n_a, n_b = len(cand_a), len(cand_b)
    i = np.repeat(np.arange(n_a), n_b)
    j = np.tile(np.arange(n_b), n_a)
    xa, ya = cand_a[i, 0], cand_a[i, 1]
    xb, yb = cand_b[j, 0], cand_b[j, 1]
    dx, dy = xb - xa, yb - ya
    norm = np.maximum(0.001, np.sqrt(dx * dx + dy * dy))
    ux, uy = dx / norm, dy / norm
    # np.linspace(a, b, 10) per pair: t * ((b - a) / 9) + a, last point exactly b.
    t = np.arange(SAMPLES, dtype=np.float64)[:, None]
    px = t * (dx / (SAMPLES - 1)) + xa
    py = t * (dy / (SAMPLES - 1)) + ya
    px[-1], py[-1] = xb, yb
    rows, cols = np.rint(py).astype(np.int64), np.rint(px).astype(np.int64)
    values = maps.paf_values((limb[2], limb[3]), rows.ravel(), cols.ravel()).astype(np.float64)
    vx, vy = values[:, 0].reshape(rows.shape), values[:, 1].reshape(rows.shape)
    projected = vx * ux + vy * uy
    total = np.zeros(len(i))
    for n in range(SAMPLES):  # Python's sum: left to right
        total = total + projected[n]
    prior = total / SAMPLES + np.minimum(0.5 * height / norm - 1, 0)
    accepted = ((projected > PAF_THRESHOLD).sum(axis=0) > MIN_SAMPLES_ABOVE) & (prior > 0)
    return i, j, prior, accepted


def connect_limb(maps, limb, cand_a: np.ndarray, cand_b: np.ndarray, height: int) -> np.ndarray:
    """(k, 5) float64 rows [id A, id B, score, i, j] of the limb's accepted connections."""
    i, j, prior, accepted = _pair_scores(maps, limb, cand_a, cand_b, height)
    order = np.argsort(-prior[accepted], kind="stable")
    used_a, used_b, rows = set(), set(), []
    for k in np.flatnonzero(accepted)[order]:
        a, b = int(i[k]), int(j[k])
        if a in used_a or b in used_b:
            continue
        used_a.add(a)
        used_b.add(b)
        rows.append((cand_a[a, 3], cand_b[b, 3], prior[k], a, b))
        if len(rows) >= min(len(cand_a), len(cand_b)):
            break
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def assemble(connections: list[np.ndarray | None], candidate: np.ndarray) -> np.ndarray:
    """(M, 20) float64 persons: candidate id per part (-1 if none), total score, part count."""
    people: list[list[float]] = []
    scores = candidate[:, 2].tolist()
    for k, found in enumerate(connections):
        if found is None:
            continue
        index_a, index_b = LIMBS[k][0], LIMBS[k][1]
        for id_a, id_b, score, _, _ in found.tolist():
            matches = [row for row in people if row[index_a] == id_a or row[index_b] == id_b][:2]
            if len(matches) == 1 or (len(matches) == 2 and _overlap(*matches)):
                row = matches[0]
                if len(matches) == 2 or row[index_b] != id_b:
                    row[index_b] = id_b
                    row[19] += 1
                    row[18] += scores[int(id_b)] + score
            elif len(matches) == 2:
                first, second = matches
                for p in range(NUM_PARTS):
                    first[p] += second[p] + 1
                first[18] += second[18]
                first[19] += second[19]
                first[18] += score
                del people[next(n for n, row in enumerate(people) if row is second)]
            elif not matches and k < NO_START_LIMBS:
                row = [-1.0] * 20
                row[index_a], row[index_b] = id_a, id_b
                row[19] = 2.0
                row[18] = 0 + scores[int(id_a)] + scores[int(id_b)] + score
                people.append(row)
    kept = [row for row in people if not (row[19] < MIN_PARTS or row[18] / row[19] < MIN_MEAN_SCORE)]
    return np.array(kept, dtype=np.float64).reshape(-1, 20)


def _overlap(first: list[float], second: list[float]) -> bool:
    """Whether two persons hold some part in common (then they are not merged)."""
    return any(first[p] >= 0 and second[p] >= 0 for p in range(NUM_PARTS))


def estimate(maps) -> tuple[np.ndarray, np.ndarray]:
    """(candidate (N, 4), subset (M, 20)) of the reference ports, from full-resolution maps."""
    candidate, ids = find_candidates(maps)
    height = maps.shape[0]
    connections: list[np.ndarray | None] = []
    for limb in LIMBS:
        a, b = ids[limb[0]], ids[limb[1]]
        connections.append(connect_limb(maps, limb, candidate[a], candidate[b], height) if len(a) and len(b) else None)
    return candidate, assemble(connections, candidate)


@dataclass(frozen=True)
class Person:
    """One assembled person: COCO-18 keypoints in image pixels.

    xy (18, 2) float64 and scores (18,) float64 (the unsmoothed heatmap value at the peak) are 0
    where ``found`` is False; ``score`` is the assembly's total score, ``parts`` the part count.
    """

    xy: np.ndarray
    scores: np.ndarray
    found: np.ndarray
    score: float
    parts: int

    def keypoints(self) -> np.ndarray:
        """(18, 3) float64 [x, y, score], missing joints 0, 0, 0 (the OpenPose file convention)."""
        return np.concatenate([self.xy, self.scores[:, None]], axis=1)


def people_from(candidate: np.ndarray, subset: np.ndarray) -> list[Person]:
    """Persons in the assembly's order (not sorted by score)."""
    people = []
    for row in subset:
        ids = row[:NUM_PARTS].astype(np.int64)
        found = ids >= 0
        xy = np.zeros((NUM_PARTS, 2))
        scores = np.zeros(NUM_PARTS)
        xy[found] = candidate[ids[found], :2]
        scores[found] = candidate[ids[found], 2]
        people.append(Person(xy, scores, found, float(row[18]), int(row[19])))
    return people


def best_person(people: list[Person]) -> Person | None:
    """The person with the highest total score (the first of equals), or None."""
    return max(people, key=lambda p: p.score, default=None)
