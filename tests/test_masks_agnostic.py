"""Agnostic masks on hand-built label maps with known answers, for every cloth type and for sizes
that are not multiples of 4 (the reference implementation crashes on those)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vtonpipe.datasets.synthetic import draw_person
from vtonpipe.labels.parsing import ATR_IDS as ATR
from vtonpipe.labels.parsing import LIP_IDS as LIP
from vtonpipe.masks.agnostic import CLOTH_TYPES, agnostic_image, agnostic_mask, kernel_sizes

SIZES = [(203, 154), (256, 192), (517, 389)]


def _box(h, w, rows, cols):
    m = np.zeros((h, w), bool)
    m[int(rows[0] * h) : int(rows[1] * h), int(cols[0] * w) : int(cols[1] * w)] = True
    return m


def figure(h: int, w: int, coat: bool = False):
    """A front-facing block figure: shirt (optionally under an open coat), pants, shoes.

    Returns (densepose, lip, atr, regions) where regions names the boolean areas to test.
    """
    dp, lip, atr = (np.zeros((h, w), np.uint8) for _ in range(3))
    r = {
        "hair": _box(h, w, (0.03, 0.08), (0.42, 0.58)),
        "face": _box(h, w, (0.08, 0.18), (0.42, 0.58)),
        "neck": _box(h, w, (0.18, 0.22), (0.47, 0.53)),
        "torso": _box(h, w, (0.22, 0.50), (0.35, 0.65)),
        "pelvis": _box(h, w, (0.50, 0.58), (0.38, 0.62)),
    }
    for side, cols, leg_cols in (("right", (0.25, 0.33), (0.38, 0.49)), ("left", (0.67, 0.75), (0.51, 0.62))):
        r[f"{side} sleeve"] = _box(h, w, (0.22, 0.32), cols)
        r[f"{side} upper arm"] = _box(h, w, (0.22, 0.35), cols)
        r[f"{side} forearm"] = _box(h, w, (0.35, 0.48), cols)
        r[f"{side} hand"] = _box(h, w, (0.48, 0.54), cols)
        r[f"{side} thigh"] = _box(h, w, (0.50, 0.70), leg_cols)
        r[f"{side} shin"] = _box(h, w, (0.70, 0.88), leg_cols)
        r[f"{side} shoe"] = _box(h, w, (0.88, 0.94), leg_cols)
    ids = {"right": dict(upper=16, fore=20, hand=3, thigh=7, shin=11, foot=5),
           "left": dict(upper=15, fore=19, hand=4, thigh=8, shin=12, foot=6)}  # fmt: skip
    dp[r["face"]] = 23
    dp[r["neck"] | r["torso"]] = 2
    for side, d in ids.items():
        Side = side.capitalize()
        dp[r[f"{side} upper arm"]] = d["upper"]
        dp[r[f"{side} forearm"]] = d["fore"]
        dp[r[f"{side} hand"]] = d["hand"]
        dp[r[f"{side} thigh"]] = d["thigh"]
        dp[r[f"{side} shin"]] = d["shin"]
        dp[r[f"{side} shoe"]] = d["foot"]
        arm = r[f"{side} upper arm"] | r[f"{side} forearm"] | r[f"{side} hand"]
        lip[arm], atr[arm] = LIP[f"{Side}-arm"], ATR[f"{Side}-arm"]
        lip[r[f"{side} sleeve"]], atr[r[f"{side} sleeve"]] = LIP["Upper-clothes"], ATR["Upper-clothes"]
        lip[r[f"{side} shoe"]], atr[r[f"{side} shoe"]] = LIP[f"{Side}-shoe"], ATR[f"{Side}-shoe"]
        dp[r["pelvis"] & (np.arange(w) < w // 2 if side == "right" else np.arange(w) >= w // 2)] = d["thigh"]
    r["pants"] = r["pelvis"] | r["right thigh"] | r["right shin"] | r["left thigh"] | r["left shin"]
    r["arms"] = r["right upper arm"] | r["right forearm"] | r["left upper arm"] | r["left forearm"]
    r["hands"] = r["right hand"] | r["left hand"]
    r["shoes"] = r["right shoe"] | r["left shoe"]
    lip[r["hair"]], atr[r["hair"]] = LIP["Hair"], ATR["Hair"]
    lip[r["face"]], atr[r["face"]] = LIP["Face"], ATR["Face"]
    atr[r["neck"]] = ATR["Face"]  # SCHP-ATR calls the neck face; LIP leaves it background
    lip[r["torso"]], atr[r["torso"]] = LIP["Upper-clothes"], ATR["Upper-clothes"]
    lip[r["pants"]], atr[r["pants"]] = LIP["Pants"], ATR["Pants"]
    if coat:
        r["shirt"] = _box(h, w, (0.22, 0.50), (0.44, 0.56))
        r["coat"] = (r["torso"] & ~r["shirt"]) | r["right sleeve"] | r["left sleeve"]
        lip[r["coat"]] = LIP["Coat"]  # ATR has no coat class: it keeps calling it upper-clothes
    return dp, lip, atr, r


def inner(region: np.ndarray, pixels: int) -> np.ndarray:
    """The region shrunk by `pixels`: what must be untouched whatever the smoothing does."""
    if pixels <= 0:
        return region
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.erode(region.astype(np.uint8), kernel) > 0


def margins(h, w):
    """(strong, weak): how far past a protected region the mask may reach.

    Strong protection only yields to the final dilation; weak protection also to the blur.
    """
    dilate, blur = kernel_sizes(h, w)
    return dilate // 2 + 1, blur // 2 + dilate // 2 + 1


def covers(mask, region):
    return bool(np.all(mask[region] == 255))


def untouched(mask, region):
    return not np.any(mask[region])


@pytest.mark.parametrize("h,w", SIZES)
def test_upper_covers_torso_and_arms_never_face_hands_legs(h, w):
    dp, lip, atr, r = figure(h, w)
    strong, weak = margins(h, w)
    mask = agnostic_mask(dp, lip, atr, "upper")
    assert mask.shape == (h, w) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    assert covers(mask, r["torso"] | r["arms"] | r["neck"])
    assert untouched(mask, inner(r["face"], strong))
    assert untouched(mask, inner(r["hands"], strong))
    assert untouched(mask, inner(r["pants"], weak) | inner(r["shoes"], weak) | inner(r["hair"], weak))


@pytest.mark.parametrize("h,w", SIZES)
def test_lower_covers_pants_never_face_arms_or_shirt(h, w):
    dp, lip, atr, r = figure(h, w)
    strong, weak = margins(h, w)
    mask = agnostic_mask(dp, lip, atr, "lower")
    assert covers(mask, r["pants"])
    assert untouched(mask, inner(r["face"], strong) | inner(r["hands"], strong))
    assert untouched(mask, inner(r["torso"], weak) | inner(r["arms"], weak) | inner(r["neck"], weak))


@pytest.mark.parametrize("h,w", SIZES)
def test_overall_covers_torso_arms_and_pants_never_face_hands_shoes(h, w):
    dp, lip, atr, r = figure(h, w)
    strong, weak = margins(h, w)
    mask = agnostic_mask(dp, lip, atr, "overall")
    assert covers(mask, r["torso"] | r["arms"] | r["pants"])
    assert untouched(mask, inner(r["face"], strong) | inner(r["hands"], strong))
    assert untouched(mask, inner(r["shoes"], weak) | inner(r["hair"], weak))


@pytest.mark.parametrize("h,w", SIZES)
def test_outer_covers_the_coat_keeps_the_shirt(h, w):
    dp, lip, atr, r = figure(h, w, coat=True)
    strong, weak = margins(h, w)
    mask = agnostic_mask(dp, lip, atr, "outer")
    assert covers(mask, r["coat"] | r["arms"])
    assert untouched(mask, inner(r["shirt"], weak))
    assert untouched(mask, inner(r["face"], strong) | inner(r["hands"], strong) | inner(r["pants"], weak))


@pytest.mark.parametrize("h,w", SIZES)
def test_inner_covers_the_shirt_keeps_pants(h, w):
    dp, lip, atr, r = figure(h, w, coat=True)
    strong, weak = margins(h, w)
    mask = agnostic_mask(dp, lip, atr, "inner")
    assert covers(mask, r["shirt"])
    # The ATR parser sees the open coat as upper-clothes, which inner always repaints.
    assert covers(mask, r["coat"])
    assert untouched(mask, inner(r["face"], strong) | inner(r["hands"], strong) | inner(r["pants"], weak))


def test_inner_keeps_a_coat_that_atr_does_not_call_upper_clothes():
    dp, lip, atr, r = figure(256, 192, coat=True)
    atr[r["coat"]] = ATR["Dress"]  # inner protects dresses as well as coats
    mask = agnostic_mask(dp, lip, atr, "inner")
    _, weak = margins(256, 192)
    assert covers(mask, r["shirt"])
    assert untouched(mask, inner(r["coat"] & r["torso"], weak))


def test_no_person_gives_an_empty_mask():
    empty = np.zeros((101, 77), np.uint8)
    for cloth_type in CLOTH_TYPES:
        assert not agnostic_mask(empty, empty, empty, cloth_type).any()


@pytest.mark.parametrize("h,w", [(255, 191), (257, 193), (258, 194)])
def test_synthetic_person_upper_mask_covers_the_garment(h, w):
    person = draw_person(np.random.default_rng([5, h]), h, w)
    mask = agnostic_mask(person.densepose, person.lip, person.atr, "upper")
    strong, _ = margins(h, w)
    assert covers(mask, person.lip == LIP["Upper-clothes"])
    assert untouched(mask, inner(person.lip == LIP["Face"], strong))


def test_kernel_sizes_follow_the_reference():
    assert kernel_sizes(1024, 768) == (5, 41)
    assert kernel_sizes(512, 384) == (3, 21)
    assert kernel_sizes(256, 192) == (1, 11)


def test_bad_inputs_are_rejected():
    dp, lip, atr, _ = figure(64, 48)
    with pytest.raises(ValueError, match="cloth_type"):
        agnostic_mask(dp, lip, atr, "shoes")
    with pytest.raises(ValueError, match="one size"):
        agnostic_mask(dp, lip[:-1], atr, "upper")


def test_agnostic_image_fills_the_mask_gray_128():
    rng = np.random.default_rng(0)
    person = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)
    mask = np.zeros((37, 29), np.uint8)
    mask[5:20, 3:11] = 255
    out = agnostic_image(person, mask)
    assert np.all(out[mask > 0] == 128)
    assert np.array_equal(out[mask == 0], person[mask == 0])
