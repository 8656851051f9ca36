"""Human-parsing label sets (SCHP LIP and ATR, VITON-HD's CIHP) and the VOC palette their PNGs use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class LabelSet:
    """One parsing label set: class names (index = class id) and the square network input size
    its SCHP model was trained at (0 for label sets no vtonpipe model predicts)."""

    name: str
    input_size: int
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @cached_property
    def ids(self) -> dict[str, int]:
        """Class name -> id."""
        return {name: i for i, name in enumerate(self.classes)}


LIP = LabelSet(
    "lip",
    473,
    (
        "Background", "Hat", "Hair", "Glove", "Sunglasses", "Upper-clothes", "Dress", "Coat",
        "Socks", "Pants", "Jumpsuits", "Scarf", "Skirt", "Face", "Left-arm", "Right-arm",
        "Left-leg", "Right-leg", "Left-shoe", "Right-shoe",
    ),
)

ATR = LabelSet(
    "atr",
    512,
    (
        "Background", "Hat", "Hair", "Sunglasses", "Upper-clothes", "Skirt", "Pants", "Dress", "Belt",
        "Left-shoe", "Right-shoe", "Face", "Left-leg", "Right-leg", "Left-arm", "Right-arm", "Bag", "Scarf",
    ),
)

# VITON-HD's image-parse-v3: LIP's ids, except that 10 is the neck (torso skin), not Jumpsuits.
CIHP = LabelSet("cihp", 0, LIP.classes[:10] + ("Neck",) + LIP.classes[11:])

# Class name -> id of each set.
LIP_IDS, ATR_IDS, CIHP_IDS = LIP.ids, ATR.ids, CIHP.ids

# The label sets an SCHP checkpoint can carry.
LABEL_SETS = {s.name: s for s in (LIP, ATR)}


def palette(num_classes: int) -> list[int]:
    """Flat RGB palette (3 ints per class) of the PASCAL VOC colour map.

    Class id bits are spread over the colour channels from the most significant bit down:
    bit 3k goes to red, 3k+1 to green, 3k+2 to blue, each at bit position 7-k.
    """
    colours = []
    for label in range(num_classes):
        rgb = [0, 0, 0]
        for k in range(8):
            for channel in range(3):
                rgb[channel] |= ((label >> (3 * k + channel)) & 1) << (7 - k)
        colours.extend(rgb)
    return colours


# CIHP_PGN's colour per CIHP label (RGB), the palette of its parse PNGs (image-parse-v3 shows
# these colours; readers use the pixel values, i.e. the label ids).
CIHP_COLOURS = (
    (0, 0, 0), (128, 0, 0), (255, 0, 0), (0, 85, 0), (170, 0, 51), (255, 85, 0), (0, 0, 85),
    (0, 119, 221), (85, 85, 0), (0, 85, 85), (85, 51, 0), (52, 86, 128), (0, 128, 0), (0, 0, 255),
    (51, 170, 221), (0, 255, 255), (85, 255, 170), (170, 255, 85), (255, 255, 0), (255, 170, 0),
)  # fmt: skip
CIHP_PALETTE = [c for colour in CIHP_COLOURS for c in colour]
