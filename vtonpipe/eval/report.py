"""The evaluation report: one self-contained HTML page (metrics table + contact sheet).

Every image is embedded as a base64 data URI, and the page has no scripts, fonts or links to
fetch, so it opens offline and can be mailed or archived as a single file.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from vtonpipe.datasets.images import MAX_PIXELS
from vtonpipe.atomic import atomic_write_bytes

SHEET_COLUMNS = ("person", "garment", "mask", "result", "gt")
THUMB_HEIGHT = 192

METRIC_ROWS = (
    ("fid", "FID", "lower is better", "clean-fid mode 'clean' (PIL bicubic to 299, TF Inception 2015-12-05 pool3)"),
    ("kid_x1000", "KID x 1000", "lower is better", "clean-fid kernel_distance: cubic kernel, 100 subsets"),
    ("ssim", "SSIM", "higher is better", "torchmetrics: Gaussian 11, sigma 1.5, data_range 1, mean over pairs"),
    ("lpips", "LPIPS", "lower is better", "torchmetrics: net_type 'squeeze', inputs in [-1, 1], mean over pairs"),
)


@dataclass
class SheetRow:
    """One contact-sheet line: image paths (None when unknown) and the pair's own numbers."""

    pair_id: str
    person: str | None = None
    garment: str | None = None
    mask: str | None = None
    result: str | None = None
    gt: str | None = None
    ssim: float | None = None
    lpips: float | None = None
    status: str = "ok"
    error: str | None = None


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


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _metrics_table(summary: dict[str, Any]) -> str:
    rows = []
    for key, label, direction, convention in METRIC_ROWS:
        if key not in summary.get("metrics", {}):
            continue
        rows.append(
            f"<tr><th>{label}</th><td class=num>{_fmt(summary['metrics'][key])}</td>"
            f"<td>{direction}</td><td>{html.escape(convention)}</td></tr>"
        )
    return "<table class=metrics><tr><th>metric</th><th>value</th><th></th><th>convention</th></tr>" + "".join(rows) + "</table>"


def _facts(summary: dict[str, Any]) -> str:
    res = summary.get("resolution") or {}
    items = [
        ("mode", summary.get("mode")),
        ("resolution (H x W)", f"{res.get('height')} x {res.get('width')}" if res else None),
        ("results", summary.get("results_dir")),
        ("ground truth", summary.get("gt_dir")),
        *((f"count: {k}", v) for k, v in summary.get("counts", {}).items()),
        *((f"model: {k}", v) for k, v in summary.get("model_ids", {}).items()),
        ("created", summary.get("created_at")),
    ]
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{_fmt(v)}</dd>" for k, v in items) + "</dl>"


def _cell(path: str | None, label: str) -> str:
    uri = thumbnail_data_uri(path)
    if uri is None:
        return f"<td><div class=missing style='height:{THUMB_HEIGHT}px'>no {label}</div></td>"
    return f"<td><img src=\"{uri}\" alt=\"{label}\" height={THUMB_HEIGHT}></td>"


def _sheet(rows: list[SheetRow]) -> str:
    if not rows:
        return "<p>No pairs to show.</p>"
    head = "".join(f"<th>{c}</th>" for c in SHEET_COLUMNS)
    body = []
    for row in rows:
        cells = "".join(_cell(getattr(row, c), c) for c in SHEET_COLUMNS)
        numbers = f"SSIM {_fmt(row.ssim)} &middot; LPIPS {_fmt(row.lpips)}"
        if row.status != "ok":
            numbers = f"<span class=err>{_fmt(row.status)}: {_fmt(row.error)}</span>"
        body.append(f"<tr><td class=id>{_fmt(row.pair_id)}<br><small>{numbers}</small></td>{cells}</tr>")
    return f"<table class=sheet><tr><th>pair</th>{head}</tr>{''.join(body)}</table>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin-bottom: 24px; }
td, th { border: 1px solid #ccc; padding: 4px 8px; vertical-align: middle; text-align: left; }
td.num { font-variant-numeric: tabular-nums; text-align: right; font-weight: bold; }
td.id { max-width: 220px; word-break: break-all; font-size: 13px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; font-size: 14px; }
dt { font-weight: bold; } dd { margin: 0; word-break: break-all; }
.missing { display: flex; align-items: center; justify-content: center; width: 144px;
           background: #eee; color: #888; font-size: 13px; }
.err { color: #b00; }
img { border: 1px solid #bbb; }
"""


def render_report(summary: dict[str, Any], rows: list[SheetRow]) -> str:
    """The report page as a string."""
    title = f"vtonpipe evaluation: {summary.get('mode', '')}"
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<h2>Metrics</h2>{_metrics_table(summary)}{_facts(summary)}"
        f"<h2>Contact sheet ({len(rows)} of {summary.get('counts', {}).get('results', len(rows))} results)</h2>"
        f"{_sheet(rows)}</body></html>"
    )


def write_report(path: str | os.PathLike, summary: dict[str, Any], rows: list[SheetRow]) -> Path:
    """Render and atomically write the page."""
    atomic_write_bytes(path, render_report(summary, rows).encode("utf-8"))
    return Path(path)
