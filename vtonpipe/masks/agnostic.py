"""Cloth-agnostic masks (what a try-on model repaints) and agnostic images.

`agnostic_mask` follows CatVTON's AutoMasker rule: from a DensePose part map and SCHP LIP + ATR
label maps it protects hands, feet, face, hair, accessories and the garments that stay, takes the
convex hull of what is left of the person together with the dilated DensePose parts under the
garment, smooths it, adds the garment labels back and dilates. The reference breaks when H or W
is not a multiple of 4 (its quarter-scale round trip changes the shape); here the dense mask is
resized back to the exact input size, which gives identical masks for sizes divisible by 4.
"""

from __future__ import annotations

import cv2
import numpy as np

from vtonpipe.labels.densepose import PART_GROUPS
from vtonpipe.labels.lookup import part_mask
from vtonpipe.labels.parsing import ATR_IDS, LIP_IDS

CLOTH_TYPES = ("upper", "lower", "overall", "inner", "outer")

# Per cloth type: body parts and other garments that must survive, garment labels that are
# always repainted, DensePose parts whose (dilated) area is repainted.
PROTECT_BODY = {
    "upper": ("Left-leg", "Right-leg"),
    "lower": ("Right-arm", "Left-arm", "Face"),
    "overall": (),
    "inner": ("Left-leg", "Right-leg"),
    "outer": ("Left-leg", "Right-leg"),
}
PROTECT_CLOTH_ATR = {
    "upper": ("Skirt", "Pants"),
    "lower": ("Upper-clothes",),
    "overall": (),
    "inner": ("Dress", "Coat", "Skirt", "Pants"),
    "outer": ("Dress", "Pants", "Skirt"),
}
PROTECT_CLOTH_LIP = {
    "upper": ("Skirt", "Pants"),
    "lower": ("Upper-clothes", "Coat"),
    "overall": (),
    "inner": ("Dress", "Coat", "Skirt", "Pants", "Jumpsuits"),
    "outer": ("Upper-clothes", "Dress", "Pants", "Skirt", "Jumpsuits"),
}
MASK_CLOTH = {
    "upper": ("Upper-clothes", "Coat", "Dress", "Jumpsuits"),
    "lower": ("Pants", "Skirt", "Dress", "Jumpsuits"),
    "overall": ("Upper-clothes", "Dress", "Pants", "Skirt", "Coat", "Jumpsuits"),
    "inner": ("Upper-clothes",),
    "outer": ("Coat",),
}
MASK_DENSE = {
    "upper": ("torso", "big arms", "forearms"),
    "lower": ("thighs", "legs"),
    "overall": ("torso", "thighs", "legs", "big arms", "forearms"),
    "inner": ("torso",),
    "outer": ("torso", "big arms", "forearms"),
}
ACCESSORIES = ("Hat", "Glove", "Sunglasses", "Bag", "Left-shoe", "Right-shoe", "Scarf", "Socks")
LIMBS = ("Left-arm", "Right-arm", "Left-leg", "Right-leg")

# Gaussian-blurred mask values (0-255) at or above this become mask: grows the hull a little.
BLUR_THRESHOLD = 25
GRAY = 128


def _odd(n: int) -> int:
    return n if n % 2 == 1 else n + 1


def kernel_sizes(height: int, width: int) -> tuple[int, int]:
    """(dilation kernel, blur kernel) for an image of this size: 5 and 41 at 1024x768."""
    side = max(height, width)
    return _odd(side // 250), _odd(side // 25)


def _both(names, lip: np.ndarray, atr: np.ndarray) -> np.ndarray:
    return part_mask(lip, names, LIP_IDS) | part_mask(atr, names, ATR_IDS)


def _u8(mask: np.ndarray) -> np.ndarray:
    return mask.astype(np.uint8)


def convex_hull_mask(mask: np.ndarray) -> np.ndarray:
    """Union of the filled convex hulls of every outer contour of a boolean mask."""
    contours, _ = cv2.findContours(_u8(mask) * 255, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    canvas = np.zeros(mask.shape, np.uint8)
    for contour in contours:
        cv2.fillPoly(canvas, [cv2.convexHull(contour)], 255)
    return canvas > 0


def dense_area(densepose_parts: np.ndarray, cloth_type: str, kernel: np.ndarray) -> np.ndarray:
    """DensePose parts under the garment, dilated at quarter scale (cheap, blocky growth)."""
    height, width = densepose_parts.shape
    area = _u8(part_mask(densepose_parts, MASK_DENSE[cloth_type], PART_GROUPS))
    small = cv2.resize(area, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_NEAREST)
    small = cv2.dilate(small, kernel, iterations=2)
    # Back to the exact input size: a x4 upscale would be off for sizes not divisible by 4.
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST) > 0


def agnostic_mask(
    densepose_parts: np.ndarray, lip: np.ndarray, atr: np.ndarray, cloth_type: str
) -> np.ndarray:
    """uint8 HxW mask, 255 where a garment of `cloth_type` is repainted, else 0.

    densepose_parts: HxW DensePose part ids 0-24; lip, atr: HxW SCHP label maps of the same size.
    """
    if cloth_type not in CLOTH_TYPES:
        raise ValueError(f"cloth_type must be one of {CLOTH_TYPES}, got {cloth_type!r}")
    if not (densepose_parts.ndim == 2 and densepose_parts.shape == lip.shape == atr.shape):
        raise ValueError(
            "densepose, lip and atr maps must be 2-D and of one size, got "
            f"{densepose_parts.shape}, {lip.shape}, {atr.shape}"
        )
    height, width = densepose_parts.shape
    if min(height, width) < 4:
        raise ValueError(f"maps of {height}x{width} are too small for a mask")
    dilate_size, blur_size = kernel_sizes(height, width)
    kernel = np.ones((dilate_size, dilate_size), np.uint8)

    # Strong protection survives everything but the final dilation: hands and feet (where the
    # parsers call them limbs) and the LIP face.
    extremities = cv2.dilate(_u8(part_mask(densepose_parts, ("hands", "feet"), PART_GROUPS)), kernel)
    strong_protect = (extremities > 0) & _both(LIMBS, lip, atr)
    strong_protect |= part_mask(lip, ("Face",), LIP_IDS)

    weak_protect = (
        strong_protect
        | _both(PROTECT_BODY[cloth_type], lip, atr)
        | part_mask(lip, PROTECT_CLOTH_LIP[cloth_type], LIP_IDS)
        | part_mask(atr, PROTECT_CLOTH_ATR[cloth_type], ATR_IDS)
        | _both(("Hair",), lip, atr)
        | _both(ACCESSORIES, lip, atr)
    )
    garment = _both(MASK_CLOTH[cloth_type], lip, atr)
    background = part_mask(lip, ("Background",), LIP_IDS) & part_mask(atr, ("Background",), ATR_IDS)

    mask = (~weak_protect & ~background) | dense_area(densepose_parts, cloth_type, kernel)
    mask = convex_hull_mask(mask) & ~weak_protect
    blurred = cv2.GaussianBlur(_u8(mask) * 255, (blur_size, blur_size), 0)
    mask = ((blurred >= BLUR_THRESHOLD) | garment) & ~strong_protect
    return cv2.dilate(_u8(mask), kernel) * np.uint8(255)


def agnostic_image(person_rgb: np.ndarray, mask: np.ndarray, fill: int = GRAY) -> np.ndarray:
    """The person with the masked region (mask > 0) filled gray, as in VITON-HD's agnostic-v3.2."""
    if person_rgb.shape[:2] != mask.shape:
        raise ValueError(f"image {person_rgb.shape[:2]} and mask {mask.shape} differ in size")
    out = person_rgb.copy()
    out[mask > 0] = fill
    return out
