"""OpenPose post-processing: the map upsampling chains and the peak / limb / assembly rules against
the upstream code on the same network outputs (identical candidates and persons), per variant."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from openpose_upstream import body_with_outputs, official_body

from vtonpipe.labels.pose import COCO18, LIMBS, NUM_HEATMAP_CHANNELS, NUM_PAF_CHANNELS
from vtonpipe.models.openpose.postprocess import best_person, estimate, people_from
from vtonpipe.models.openpose.resize import LanczosMaps, full_resolution_maps, network_input
from vtonpipe.models.openpose.template import template_cells


def fake_outputs(rng: np.random.Generator, padded_hw: tuple[int, int], people: int = 3, spurious: int = 8):
    """Network-like outputs ([19,h,w] rectified heatmaps, [38,h,w] PAFs) of several standing
    persons (some joints missing), spurious peaks and noise."""
    hc, wc = padded_hw[0] // 8, padded_hw[1] // 8
    yy, xx = np.mgrid[0:hc, 0:wc].astype(np.float32)
    heat = np.zeros((NUM_HEATMAP_CHANNELS, hc, wc), np.float32)
    pafs = np.zeros((NUM_PAF_CHANNELS, hc, wc), np.float32)
    cells = template_cells()
    for _ in range(people):
        x0, size = rng.uniform(2, wc - 3), rng.uniform(0.5, 1.0)
        y0 = rng.uniform(0, hc * (1 - size))
        joints = {}
        for name, (side, d, row) in cells.items():
            if rng.uniform() < 0.12:
                continue  # a missing joint
            jitter = rng.normal(0, 0.2, 2)
            joints[COCO18[name]] = (x0 + side * d * size * 1.6 + jitter[0], y0 + row * size + jitter[1])
        for part, (x, y) in joints.items():
            heat[part] += rng.uniform(0.5, 1.0) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 0.7**2))
        for a, b, cx, cy in LIMBS:
            if a in joints and b in joints:
                (xa, ya), (xb, yb) = joints[a], joints[b]
                length = np.hypot(xb - xa, yb - ya) + 1e-6
                ux, uy = (xb - xa) / length, (yb - ya) / length
                along = (xx - xa) * ux + (yy - ya) * uy
                across = np.abs(-(xx - xa) * uy + (yy - ya) * ux)
                band = (along > -0.5) & (along < length + 0.5) & (across < 1.0)
                pafs[cx][band] += ux
                pafs[cy][band] += uy
    for _ in range(spurious):
        part, x, y = rng.integers(18), rng.uniform(0, wc), rng.uniform(0, hc)
        heat[part] += rng.uniform(0.2, 0.8) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 0.6**2))
    heat += rng.normal(0, 0.03, heat.shape).astype(np.float32)
    pafs += rng.normal(0, 0.05, pafs.shape).astype(np.float32)
    heat[18] = 1 - heat[:18].max(axis=0)
    return np.maximum(heat, 0), pafs


# (image height, width, seed): tiled Lanczos (128/23 and 64/23 blocks), a ratio that is not a
# power of two over its block (whole-channel resize), a landscape picture, a picture smaller
# than the maps (INTER_AREA).
CASES = {
    "controlnet11": [(1024, 768, 0), (512, 384, 1), (500, 375, 2), (300, 520, 3), (160, 120, 4)],
    "controlnet10": [(1024, 768, 5), (500, 375, 6), (300, 520, 7)],
}


@pytest.mark.parametrize("variant", sorted(CASES))
def test_candidates_and_persons_match_upstream(variant, tmp_path):
    people_seen = 0
    with official_body(variant, tmp_path) as (body_cls, _):
        for height, width, seed in CASES[variant]:
            bgr = np.full((height, width, 3), 90, np.uint8)
            _, geometry = network_input(bgr, variant)
            heatmaps, pafs = fake_outputs(np.random.default_rng(seed), geometry.padded)
            ref_candidate, ref_subset = body_with_outputs(body_cls, heatmaps, pafs, geometry.padded)(bgr)
            candidate, subset = estimate(full_resolution_maps(heatmaps, pafs, geometry, variant))
            assert np.array_equal(candidate, np.asarray(ref_candidate, np.float64).reshape(-1, 4)), (height, width)
            assert np.array_equal(subset, ref_subset), (height, width)
            people_seen += len(subset)
    assert people_seen >= 2 * len(CASES[variant]), "the fake outputs should assemble persons"


@pytest.mark.parametrize("size", [(1024, 768), (512, 384), (2048, 1536), (500, 375)])
def test_lanczos_regions_equal_the_full_resize(size):
    """Values computed on aligned crops equal OpenCV's whole-map resize, bit for bit."""
    height, width = size
    rng = np.random.default_rng(0)
    _, geometry = network_input(np.zeros((height, width, 3), np.uint8), "controlnet11")
    heatmaps, pafs = fake_outputs(rng, geometry.padded)
    maps = LanczosMaps(heatmaps, pafs, geometry)
    crop_h, crop_w = geometry.resized
    for part in (0, 7):
        up = cv2.resize(heatmaps[part], None, fx=8, fy=8, interpolation=cv2.INTER_LANCZOS4)[:crop_h, :crop_w]
        full = cv2.resize(np.ascontiguousarray(up), (width, height), interpolation=cv2.INTER_LANCZOS4)
        for r0, c0 in ((0, 0), (height // 3, width // 2), (height - 40, width - 30)):
            r1, c1 = min(r0 + 90, height), min(c0 + 70, width)
            assert np.array_equal(maps.heatmap(part, r0, r1, c0, c1), full[r0:r1, c0:c1])
    up = [cv2.resize(pafs[c], None, fx=8, fy=8, interpolation=cv2.INTER_LANCZOS4)[:crop_h, :crop_w] for c in (4, 5)]
    full = [cv2.resize(np.ascontiguousarray(u), (width, height), interpolation=cv2.INTER_LANCZOS4) for u in up]
    ys, xs = rng.integers(0, height, 50), rng.integers(0, width, 50)
    got = maps.paf_values((4, 5), ys, xs)
    assert np.array_equal(got, np.stack([full[0][ys, xs], full[1][ys, xs]], axis=1))


def test_people_are_read_from_their_own_candidates():
    """Two persons: each Person's keypoints are its subset row's candidates; missing joints are 0."""
    rng = np.random.default_rng(11)
    _, geometry = network_input(np.zeros((1024, 768, 3), np.uint8), "controlnet11")
    heatmaps, pafs = fake_outputs(rng, geometry.padded, people=2, spurious=0)
    candidate, subset = estimate(full_resolution_maps(heatmaps, pafs, geometry, "controlnet11"))
    people = people_from(candidate, subset)
    assert len(people) == len(subset) >= 1
    for person, row in zip(people, subset):
        ids = row[:18].astype(int)
        assert np.array_equal(person.found, ids >= 0)
        assert np.array_equal(person.xy[ids >= 0], candidate[ids[ids >= 0], :2])
        assert not person.xy[ids < 0].any() and not person.scores[ids < 0].any()
        assert person.keypoints().shape == (18, 3)
    assert best_person(people).score == max(p.score for p in people)
    assert best_person([]) is None
