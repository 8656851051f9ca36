"""A synthetic VITON-HD-style demo dataset: drawn persons and in-shop garments with ground truth.

Each person is a flat-shaded figure (hair, face, neck, arms with hands, torso in an upper garment,
legs in pants or a skirt, shoes) on a light background, with exact LIP, ATR, CIHP and DensePose
part maps. Each garment is a flat in-shop shot on white or (246, 246, 246) with its exact mask.
Everything is deterministic from a seed: item i draws from ``default_rng([seed, i])``, so an item
does not depend on how many others are written.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vtonpipe.atomic import atomic_save_image
from vtonpipe.labels.densepose import render_parts
from vtonpipe.labels.parsing import ATR_IDS, CIHP_IDS, LIP_IDS
from vtonpipe.labels.parsing import palette as label_palette

WHITE = (255, 255, 255)
OFF_WHITE = (246, 246, 246)  # the VITON-HD product-shot background (community report)
SLEEVES = ("none", "short", "long")
PATTERNS = ("solid", "stripes", "dots")
LOWER = ("pants", "skirt")

# LIP -> ATR for the classes the figures use; the neck is ATR Face (SCHP-ATR labels it so).
_LIP_TO_ATR = {LIP_IDS[n]: ATR_IDS[n] for n in ATR_IDS if n in LIP_IDS}


@dataclass(frozen=True)
class GarmentStyle:
    sleeves: str
    color: tuple[int, int, int]
    pattern: str
    pattern_color: tuple[int, int, int]


@dataclass
class SyntheticPerson:
    image: np.ndarray  # HxWx3 uint8 RGB
    lip: np.ndarray  # HxW uint8 LIP ids
    atr: np.ndarray  # HxW uint8 ATR ids
    cihp: np.ndarray  # HxW uint8 CIHP ids (VITON-HD image-parse-v3)
    densepose: np.ndarray  # HxW uint8 DensePose part ids 0-24
    style: GarmentStyle


@dataclass
class SyntheticGarment:
    image: np.ndarray  # HxWx3 uint8 RGB
    mask: np.ndarray  # HxW bool, True on the garment
    style: GarmentStyle


def _color(rng: np.random.Generator, value: tuple[float, float] = (0.25, 0.8)) -> tuple[int, int, int]:
    """A saturated or dark colour: never close to a light background."""
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.4, 0.9), rng.uniform(*value))
    return (int(r * 255), int(g * 255), int(b * 255))


def random_style(rng: np.random.Generator) -> GarmentStyle:
    return GarmentStyle(
        sleeves=str(rng.choice(SLEEVES)),
        color=_color(rng),
        pattern=str(rng.choice(PATTERNS)),
        pattern_color=_color(rng, (0.1, 0.5)),
    )


def _paint_garment(image: np.ndarray, region: np.ndarray, style: GarmentStyle, scale: float) -> None:
    """Fill `region` of `image` with the garment colour and its pattern (in place)."""
    image[region] = style.color
    if style.pattern == "solid":
        return
    h, w = region.shape
    pattern = np.zeros((h, w), np.uint8)
    step = max(4, int(round(12 * scale)))
    if style.pattern == "stripes":
        for y in range(0, h, step):
            cv2.rectangle(pattern, (0, y), (w - 1, y + step // 3), 1, -1)
    else:
        for y in range(step // 2, h, step):
            for x in range(step // 2, w, step):
                cv2.circle(pattern, (x, y), max(1, step // 4), 1, -1)
    image[region & (pattern > 0)] = style.pattern_color


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def _lerp(a, b, t: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


def _limb(canvas: np.ndarray, a, b, thickness: float, value: int) -> None:
    cv2.line(canvas, _pt(*a), _pt(*b), int(value), max(1, int(round(thickness))))


def draw_person(
    rng: np.random.Generator,
    height: int,
    width: int,
    style: GarmentStyle | None = None,
    lower: str | None = None,
    background: tuple[int, int, int] | None = None,
) -> SyntheticPerson:
    """A standing, front-facing person wearing `style` on top and pants or a skirt below.

    The person's right side is on the image's left, as in a photo. Maps are exact: the
    DensePose map holds the body under the clothes, LIP/ATR/CIHP what is visible.
    """
    style = style or random_style(rng)
    lower = lower or str(rng.choice(LOWER))
    if lower not in LOWER:
        raise ValueError(f"lower must be one of {LOWER}, got {lower!r}")
    if background is None:
        background = tuple(int(v) for v in rng.integers(226, 250, size=3))
    s = height / 256.0  # unit: one pixel of a 256-high frame
    cx = width / 2 + rng.uniform(-0.04, 0.04) * width
    head_y, head_rx, head_ry = 30 * s, 13 * s * rng.uniform(0.9, 1.1), 17 * s
    shoulder_y, shoulder_dx = 55 * s, 26 * s * rng.uniform(0.9, 1.1)
    waist_y, waist_dx = 128 * s, 21 * s
    hip_y, knee_y, ankle_y = 140 * s, 186 * s, 236 * s
    leg_dx = 11 * s * rng.uniform(0.9, 1.2)
    spread = rng.uniform(4, 10) * s  # how far the arms hang away from the body

    dense = np.zeros((height, width), np.uint8)
    lip = np.zeros((height, width), np.uint8)
    neck = np.zeros((height, width), np.uint8)
    # side = -1: the person's right (image left); +1: the person's left.
    sides = {-1: dict(thigh=7, shin=11, foot=5, upper=16, fore=20, hand=3, arm=LIP_IDS["Right-arm"],
                      leg=LIP_IDS["Right-leg"], shoe=LIP_IDS["Right-shoe"]),
             +1: dict(thigh=8, shin=12, foot=6, upper=15, fore=19, hand=4, arm=LIP_IDS["Left-arm"],
                      leg=LIP_IDS["Left-leg"], shoe=LIP_IDS["Left-shoe"])}  # fmt: skip
    joints = {}
    for side, ids in sides.items():
        hip, knee = (cx + side * leg_dx, hip_y), (cx + side * leg_dx * 1.05, knee_y)
        ankle = (cx + side * leg_dx * 1.1, ankle_y)
        shoulder = (cx + side * shoulder_dx, shoulder_y + 4 * s)
        elbow = (cx + side * (shoulder_dx + spread), 96 * s)
        wrist = (cx + side * (shoulder_dx + spread * 1.6), 132 * s)
        foot = (ankle[0] + side * 3 * s, ankle_y + 6 * s)
        joints[side] = (hip, knee, ankle, shoulder, elbow, wrist, foot)
        _limb(dense, hip, knee, 19 * s, ids["thigh"])
        _limb(dense, knee, ankle, 14 * s, ids["shin"])
        cv2.ellipse(dense, _pt(*foot), _pt(9 * s, 5 * s), 0, 0, 360, ids["foot"], -1)
        _limb(dense, shoulder, elbow, 12 * s, ids["upper"])
        _limb(dense, elbow, wrist, 10 * s, ids["fore"])
        cv2.circle(dense, _pt(wrist[0], wrist[1] + 6 * s), int(round(7 * s)), ids["hand"], -1)
        _limb(lip, hip, knee, 19 * s, ids["leg"])
        _limb(lip, knee, ankle, 14 * s, ids["leg"])
        cv2.ellipse(lip, _pt(*foot), _pt(10 * s, 6 * s), 0, 0, 360, ids["shoe"], -1)
    pelvis = np.array([_pt(cx - waist_dx, waist_y), _pt(cx + waist_dx, waist_y),
                       _pt(cx + leg_dx * 2, hip_y + 8 * s), _pt(cx - leg_dx * 2, hip_y + 8 * s)])  # fmt: skip
    right_half = np.zeros((height, width), bool)
    right_half[:, : int(round(cx))] = True
    pelvis_mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(pelvis_mask, [pelvis], 1)
    dense[(pelvis_mask > 0) & right_half] = 7
    dense[(pelvis_mask > 0) & ~right_half] = 8
    torso = np.array([_pt(cx - shoulder_dx, shoulder_y), _pt(cx + shoulder_dx, shoulder_y),
                      _pt(cx + waist_dx, waist_y + 4 * s), _pt(cx - waist_dx, waist_y + 4 * s)])  # fmt: skip
    cv2.fillPoly(dense, [torso], 2)
    cv2.rectangle(neck, _pt(cx - 6 * s, head_y), _pt(cx + 6 * s, shoulder_y + 2 * s), 1, -1)
    dense[neck > 0] = 2

    # Visible labels, back to front: legs (above), lower garment, torso garment, arms, neck, hair, face.
    if lower == "pants":
        for side in sides:
            hip, knee, ankle = joints[side][:3]
            _limb(lip, hip, knee, 22 * s, LIP_IDS["Pants"])
            _limb(lip, knee, ankle, 17 * s, LIP_IDS["Pants"])
        cv2.fillPoly(lip, [pelvis], LIP_IDS["Pants"])
    else:
        skirt = np.array([_pt(cx - waist_dx, waist_y), _pt(cx + waist_dx, waist_y),
                          _pt(cx + 34 * s, 176 * s), _pt(cx - 34 * s, 176 * s)])  # fmt: skip
        cv2.fillPoly(lip, [skirt], LIP_IDS["Skirt"])
    for side, ids in sides.items():
        _, _, _, shoulder, elbow, wrist, _ = joints[side]
        _limb(lip, shoulder, elbow, 12 * s, ids["arm"])
        _limb(lip, elbow, wrist, 10 * s, ids["arm"])
        cv2.circle(lip, _pt(wrist[0], wrist[1] + 6 * s), int(round(7 * s)), ids["arm"], -1)
    lip[neck > 0] = LIP_IDS["Background"]
    cv2.fillPoly(lip, [torso], LIP_IDS["Upper-clothes"])
    # Sleeves: short ones end halfway down the upper arm, long ones just above the hand.
    for side in sides:
        _, _, _, shoulder, elbow, wrist, _ = joints[side]
        if style.sleeves == "short":
            _limb(lip, shoulder, _lerp(shoulder, elbow, 0.55), 15 * s, LIP_IDS["Upper-clothes"])
        elif style.sleeves == "long":
            _limb(lip, shoulder, elbow, 15 * s, LIP_IDS["Upper-clothes"])
            _limb(lip, elbow, _lerp(elbow, wrist, 0.7), 13 * s, LIP_IDS["Upper-clothes"])
    cv2.ellipse(lip, _pt(cx, head_y - 4 * s), _pt(head_rx * 1.2, head_ry * 1.05), 0, 0, 360, LIP_IDS["Hair"], -1)
    face = np.zeros((height, width), np.uint8)
    cv2.ellipse(face, _pt(cx, head_y + 2 * s), _pt(head_rx, head_ry), 0, 0, 360, 1, -1)
    lip[face > 0] = LIP_IDS["Face"]
    dense[(face > 0) & right_half] = 23
    dense[(face > 0) & ~right_half] = 24
    visible_neck = (neck > 0) & (lip == LIP_IDS["Background"])

    atr = np.zeros_like(lip)
    for lip_id, atr_id in _LIP_TO_ATR.items():
        atr[lip == lip_id] = atr_id
    atr[visible_neck] = ATR_IDS["Face"]
    cihp = lip.copy()
    cihp[visible_neck] = CIHP_IDS["Neck"]

    image = _render_person(rng, lip, visible_neck, style, background, s)
    return SyntheticPerson(image, lip, atr, cihp, dense, style)


def _render_person(rng, lip, visible_neck, style, background, scale) -> np.ndarray:
    """Flat colours per visible label, the garment's pattern, and a little sensor noise."""
    h, w = lip.shape
    image = np.empty((h, w, 3), np.uint8)
    image[:] = background
    tone = rng.uniform(0.55, 1.05)
    skin = tuple(int(c * tone) for c in (232, 180, 146))
    colors = {
        LIP_IDS["Hair"]: _color(rng, (0.1, 0.45)),
        LIP_IDS["Pants"]: _color(rng, (0.15, 0.6)),
        LIP_IDS["Skirt"]: _color(rng, (0.15, 0.6)),
        LIP_IDS["Left-shoe"]: (40, 35, 30),
        LIP_IDS["Right-shoe"]: (40, 35, 30),
    }
    for label in (LIP_IDS["Face"], LIP_IDS["Left-arm"], LIP_IDS["Right-arm"], LIP_IDS["Left-leg"], LIP_IDS["Right-leg"]):
        colors[label] = skin
    for label, color in colors.items():
        image[lip == label] = color
    image[visible_neck] = tuple(int(c * 0.9) for c in skin)
    _paint_garment(image, lip == LIP_IDS["Upper-clothes"], style, scale)
    noise = rng.normal(0.0, 2.0, size=image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def draw_garment(
    rng: np.random.Generator,
    height: int,
    width: int,
    background: tuple[int, int, int] = WHITE,
    style: GarmentStyle | None = None,
) -> SyntheticGarment:
    """An upper garment laid flat and centred, as in a product shot; returns image and exact mask."""
    style = style or random_style(rng)
    cx = width / 2 + rng.uniform(-0.03, 0.03) * width
    half = width * rng.uniform(0.2, 0.26)
    top, bottom = height * rng.uniform(0.16, 0.22), height * rng.uniform(0.8, 0.88)
    shoulder = half * (1.1 if style.sleeves != "none" else 0.8)
    mask = np.zeros((height, width), np.uint8)
    body = np.array([_pt(cx - shoulder, top), _pt(cx + shoulder, top),
                     _pt(cx + half, top + 0.2 * height), _pt(cx + half * 1.05, bottom),
                     _pt(cx - half * 1.05, bottom), _pt(cx - half, top + 0.2 * height)])  # fmt: skip
    cv2.fillPoly(mask, [body], 1)
    if style.sleeves != "none":
        length = 0.18 if style.sleeves == "short" else 0.5
        for side in (-1, 1):
            x0 = cx + side * shoulder
            sleeve = np.array([_pt(x0, top), _pt(x0 + side * 0.12 * width, top + length * height),
                               _pt(x0 + side * 0.02 * width, top + (length + 0.08) * height),
                               _pt(cx + side * half, top + 0.2 * height)])  # fmt: skip
            cv2.fillPoly(mask, [sleeve], 1)
    # The neckline is cut out of the top edge: a concavity, not a hole.
    cv2.ellipse(mask, _pt(cx, top), _pt(half * 0.35, 0.06 * height), 0, 0, 360, 0, -1)
    region = mask > 0
    image = np.empty((height, width, 3), np.uint8)
    image[:] = background
    _paint_garment(image, region, style, height / 256.0)
    return SyntheticGarment(image, region, style)


def sample_id(index: int) -> str:
    return f"{index:05d}_00"


def write_synthetic_vitonhd(
    root: str | Path,
    n_persons: int = 8,
    n_garments: int = 6,
    height: int = 256,
    width: int = 192,
    seed: int = 0,
) -> Path:
    """Write a VITON-HD-style test split under `root` and return `root`.

    root/test/image, cloth, cloth-mask, image-parse-v3 (CIHP), image-densepose: as VITON-HD.
    root/test/gt-parse-lip, gt-parse-atr, gt-densepose-parts: exact ground-truth maps.
    Person i wears garment i, whose product shot is written for i < n_garments (white
    background for even i, (246, 246, 246) for odd i). test_pairs.txt pairs every id that has
    both a person and a cloth with the next such id (unpaired); paired mode uses the own id.
    """
    if n_persons < 1 or n_garments < 1:
        raise ValueError("n_persons and n_garments must be >= 1")
    root = Path(root)
    split = root / "test"
    palette = label_palette(256)
    styles = {}
    for i in range(n_persons):
        rng = np.random.default_rng([seed, 0, i])
        person = draw_person(rng, height, width)
        styles[i] = person.style
        stem = sample_id(i)
        atomic_save_image(split / "image" / f"{stem}.jpg", person.image, quality=95)
        atomic_save_image(split / "image-parse-v3" / f"{stem}.png", person.cihp, palette=palette)
        atomic_save_image(split / "image-densepose" / f"{stem}.jpg", render_parts(person.densepose))
        atomic_save_image(split / "gt-parse-lip" / f"{stem}.png", person.lip, palette=palette)
        atomic_save_image(split / "gt-parse-atr" / f"{stem}.png", person.atr, palette=palette)
        atomic_save_image(split / "gt-densepose-parts" / f"{stem}.png", person.densepose)
    for i in range(n_garments):
        rng = np.random.default_rng([seed, 1, i])
        background = WHITE if i % 2 == 0 else OFF_WHITE
        garment = draw_garment(rng, height, width, background=background, style=styles.get(i))
        stem = sample_id(i)
        atomic_save_image(split / "cloth" / f"{stem}.jpg", garment.image, quality=95)
        atomic_save_image(split / "cloth-mask" / f"{stem}.jpg", garment.mask.astype(np.uint8) * 255)
    both = min(n_persons, n_garments)
    lines = [f"{sample_id(i)}.jpg {sample_id((i + 1) % both)}.jpg\n" for i in range(both)]
    (root / "test_pairs.txt").write_text("".join(lines))
    return root
