"""Label sets of the SCHP checkpoints and the VOC-style palette their PNGs are drawn with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelSet:
    """One parsing label set: class names (index = class id) and the square network input size."""

    name: str
    input_size: int
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


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
