"""The report's contact sheet: which pairs it shows, in which order, as embedded thumbnails.

Failed rows come first, then the worst pairs (highest LPIPS, else lowest SSIM) when per-pair
numbers exist, else pairs spread evenly over the listing. Thumbnails are JPEG data URIs, so the
page needs no other file.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vtonpipe.datasets.images import MAX_PIXELS

THUMB_HEIGHT = 192


@dataclass
class SheetRow:
    """One contact-sheet line: image paths by column (None when unknown) and the pair's numbers."""

    pair_id: str
    images: dict[str, str | None] = field(default_factory=dict)
    ssim: float | None = None
    lpips: float | None = None
    status: str = "ok"
    error: str | None = None


def _spread(n: int, k: int) -> list[int]:
    """`k` indices spread evenly over range(n), deterministic."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, k)})


def sheet_order(rows: list[SheetRow], k: int) -> tuple[list[SheetRow], str]:
    """At most `k` rows to show, failed and worst first, and how they were chosen."""
    failed = [r for r in rows if r.status != "ok"]
    ok = [r for r in rows if r.status == "ok"]
    if any(r.lpips is not None for r in ok):
        ranked, how = sorted(ok, key=lambda r: -np.inf if r.lpips is None else -r.lpips), "worst LPIPS first"
    elif any(r.ssim is not None for r in ok):
        ranked, how = sorted(ok, key=lambda r: np.inf if r.ssim is None else r.ssim), "lowest SSIM first"
    else:
        ranked, how = [ok[i] for i in _spread(len(ok), max(0, k - len(failed)))], "spread evenly over the listing"
    if failed:
        how = f"failed rows first, then {how}"
    return (failed + ranked)[:k], how


def thumbnail_data_uri(path: str | os.PathLike | None, height: int = THUMB_HEIGHT) -> str | None:
    """A JPEG thumbnail of `path` as a data URI; None if there is no readable file."""
    if path is None or not Path(path).is_file():
        return None
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                return None
            img = img.convert("RGB")
            width = max(1, round(img.width * height / img.height))
            thumb = img.resize((width, height), Image.LANCZOS)
    except Exception:  # an unreadable file is shown as missing, never breaks the report
        return None
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def fmt(value: Any, digits: int = 4) -> str:
    """A value for the page: floats to `digits` places, None as n/a, text escaped."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _cell(path: str | None, label: str) -> str:
    uri = thumbnail_data_uri(path)
    if uri is None:
        return f"<td><div class=missing style='height:{THUMB_HEIGHT}px'>no {html.escape(label)}</div></td>"
    return f"<td><img src=\"{uri}\" alt=\"{html.escape(label)}\" height={THUMB_HEIGHT}></td>"


def render_sheet(rows: list[SheetRow], columns: Sequence[str]) -> str:
    """The contact-sheet table: a pair column (id, numbers or error), then one image per column."""
    if not rows:
        return "<p>No pairs to show.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = "".join(_cell(row.images.get(c), c) for c in columns)
        numbers = " &middot; ".join(f"{name} {fmt(value)}" for name, value in (("SSIM", row.ssim), ("LPIPS", row.lpips))
                                    if value is not None)
        if row.status != "ok":
            numbers = f"<span class=err>{fmt(row.status)}: {fmt(row.error)}</span>"
        body.append(f"<tr><td class=id>{fmt(row.pair_id)}<br><small>{numbers}</small></td>{cells}</tr>")
    return f"<table class=sheet><tr><th>pair</th>{head}</tr>{''.join(body)}</table>"
