"""The evaluation report: one self-contained HTML page.

Sections: links to the sibling reports (paired <-> unpaired), warnings, the metrics with their
conventions (KID with its std over subsets), the facts of the run, how the results were rendered
(try-on settings and model ids), and the contact sheet. Images are embedded as data URIs and the
page has no scripts, fonts or remote links, so it opens offline as a single file.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.eval.sheet import SheetRow, fmt, render_sheet

METRIC_ROWS = (
    ("fid", "FID", "lower is better", "clean-fid mode 'clean' (PIL bicubic to 299, TF Inception 2015-12-05 pool3)"),
    ("kid_x1000", "KID x 1000", "lower is better",
     "clean-fid kernel_distance: cubic kernel, mean over 100 subsets; &plusmn; their std (ddof 0)"),
    ("ssim", "SSIM", "higher is better", "torchmetrics: Gaussian 11, sigma 1.5, data_range 1, mean over pairs"),
    ("lpips", "LPIPS", "lower is better", "torchmetrics: net_type 'squeeze', inputs in [-1, 1], mean over pairs"),
)
LINKS_START, LINKS_END = "<!--links-->", "<!--/links-->"


def _metrics_table(summary: dict[str, Any]) -> str:
    rows = []
    metrics, std = summary.get("metrics", {}), summary.get("std", {})
    for key, label, direction, convention in METRIC_ROWS:
        if key not in metrics:
            continue
        value = fmt(metrics[key]) + (f" &plusmn; {fmt(std[key])}" if std.get(key) is not None else "")
        rows.append(f"<tr><th>{label}</th><td class=num>{value}</td><td>{direction}</td><td>{convention}</td></tr>")
    return ("<table class=metrics><tr><th>metric</th><th>value</th><th></th><th>convention</th></tr>"
            + "".join(rows) + "</table>")


def _facts(summary: dict[str, Any]) -> str:
    res = summary.get("resolution") or {}
    against = summary.get("against_dir")
    items = [
        ("mode", summary.get("mode")),
        ("resolution (H x W)", f"{res.get('height')} x {res.get('width')}" if res else None),
        ("results (A)" if against else "results", summary.get("results_dir")),
        ("against (B)", against) if against else ("ground truth", summary.get("gt_dir")),
        *((f"count: {k}", v) for k, v in summary.get("counts", {}).items()),
        *((f"model: {k}", v) for k, v in summary.get("model_ids", {}).items()),
        ("evaluation folder", summary.get("eval_dir")),
        ("created", summary.get("created_at")),
    ]
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{fmt(v)}</dd>" for k, v in items) + "</dl>"


def _warnings(summary: dict[str, Any]) -> str:
    warnings = summary.get("warnings") or []
    if not warnings:
        return ""
    return "<div class=warn><h2>Warnings</h2><ul>" + "".join(f"<li>{fmt(w)}</li>" for w in warnings) + "</ul></div>"


def _settings(summary: dict[str, Any]) -> str:
    """One table per evaluated folder whose tryon manifest says how its results were rendered."""
    parts = []
    for folder, groups in (summary.get("settings") or {}).items():
        if not groups:
            continue
        rows = "".join(
            f"<tr><td>{fmt(g['model_id'])}</td><td>{fmt(g['stage_version'])}</td>"
            f"<td>{fmt(', '.join(f'{k}={v}' for k, v in sorted(g['params'].items())))}</td>"
            f"<td class=num>{g['results']}</td></tr>" for g in groups)
        parts.append(f"<h3>{fmt(folder)}</h3><table><tr><th>model_id</th><th>stage version</th><th>settings</th>"
                     f"<th>results</th></tr>{rows}</table>")
    return "<h2>How the results were rendered (tryon manifest)</h2>" + "".join(parts) if parts else ""


def _links(links: dict[str, str]) -> str:
    return LINKS_START + " ".join(f"<a href=\"{html.escape(href)}\">{fmt(label)}</a>"
                                  for label, href in links.items()) + LINKS_END


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
.warn { border: 2px solid #c60; background: #fff4e5; padding: 0 16px; margin-bottom: 24px; }
nav a { margin-right: 16px; }
img { border: 1px solid #bbb; }
"""


def render_report(summary: dict[str, Any], rows: list[SheetRow], columns: Sequence[str], order: str,
                  links: dict[str, str] | None = None) -> str:
    """The report page as a string; `links`: label -> relative href of related reports."""
    title = f"vtonpipe evaluation: {summary.get('mode', '')}"
    total = summary.get("counts", {}).get("results", len(rows))
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><nav>{_links(links or {})}</nav>"
        f"{_warnings(summary)}<h2>Metrics</h2>{_metrics_table(summary)}{_facts(summary)}{_settings(summary)}"
        f"<h2>Contact sheet ({len(rows)} of {total} results, {html.escape(order)})</h2>"
        f"{render_sheet(rows, columns)}</body></html>"
    )


def write_report(path: str | os.PathLike, summary: dict[str, Any], rows: list[SheetRow], columns: Sequence[str],
                 order: str, links: dict[str, str] | None = None) -> Path:
    """Render and atomically write the page."""
    atomic_write_bytes(path, render_report(summary, rows, columns, order, links).encode("utf-8"))
    return Path(path)


def set_links(page: str | os.PathLike, links: dict[str, str]) -> None:
    """Replace the related-report links of an existing page (its other content is kept as written)."""
    text = Path(page).read_text(encoding="utf-8")
    pattern = re.compile(re.escape(LINKS_START) + ".*?" + re.escape(LINKS_END), re.S)
    atomic_write_bytes(page, pattern.sub(lambda _: _links(links), text, count=1).encode("utf-8"))


def link_mode_reports(page: Path) -> Path | None:
    """Link the report at `page` (``.../<mode>/report.html``) and the other mode's both ways, when
    that one exists; returns its path."""
    mode = page.parent.name
    other = {"paired": "unpaired", "unpaired": "paired"}.get(mode)
    sibling = page.parent.parent / str(other) / page.name
    if other is None or not sibling.is_file():
        return None
    set_links(page, {f"{other} report": f"../{other}/{page.name}"})
    set_links(sibling, {f"{mode} report": f"../{mode}/{page.name}"})
    return sibling
