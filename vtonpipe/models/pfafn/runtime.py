"""PF-AFN on OpenVINO with numpy only (no torch): what the try-on stage imports.

    rt = PFAFNRuntime("models/pfafn", device="CPU", threads=2)
    tryon = rt(person, garment, garment_mask)       # uint8 RGB, uint8 RGB, uint8 HxW -> uint8 RGB
"""

from __future__ import annotations

from vtonpipe.models.common.parser_free import ParserFreeRuntime
from vtonpipe.models.pfafn import FAMILY, INPUT_NAMES, IR_NAME, OUTPUT_NAME


class PFAFNRuntime(ParserFreeRuntime):
    """A compiled PF-AFN IR folder (warp, generator and composition in one IR)."""

    FAMILY = FAMILY
    IR_NAME = IR_NAME
    INPUT_NAMES = INPUT_NAMES
    OUTPUT_NAME = OUTPUT_NAME
