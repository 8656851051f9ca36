"""`vtonpipe report`: per manifest, progress against its input, stale rows and the reasons behind
errors (ingest rejections included), read from the manifests alone."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from vtonpipe.errors import ConfigError
from vtonpipe.manifests.io import INGEST_KEYS, read_manifest, status_counts

REASONS_SHOWN = 5


def _reasons(table) -> list[str]:
    """`n x error_type: first message` lines, most frequent first."""
    if "error_type" not in table.column_names:
        return []
    errs = table.filter(pc.is_valid(table["error_type"]))
    if not errs.num_rows:
        return []
    errs = pa.table({name: pc.cast(errs[name], pa.string()) if name in errs.column_names else pa.nulls(errs.num_rows, pa.string())
                     for name in ("error_type", "error_message")})
    agg = errs.group_by("error_type", use_threads=False).aggregate([("error_type", "count"), ("error_message", "first")])
    rows = sorted(zip(agg["error_type_count"].to_pylist(), agg["error_type"].to_pylist(),
                      agg["error_message_first"].to_pylist()), reverse=True)
    lines = []
    for n, kind, message in rows[:REASONS_SHOWN]:
        first = (message or "").splitlines()[0] if message else ""
        lines.append(f"{n:>8} x {kind}: {first[:160]}")
    if len(rows) > REASONS_SHOWN:
        lines.append(f"{'':>8}   ... {len(rows) - REASONS_SHOWN} more error types")
    return lines


SETTINGS = ("stage_version", "model_id", "params")


def _stale(table) -> int:
    """Rows made with another stage version, model or result-shaping options than the newest row."""
    columns = [c for c in SETTINGS if c in table.column_names]
    if not columns or "created_at" not in table.column_names or table.num_rows == 0:
        return 0
    newest = table.take([pc.index(table["created_at"], pc.max(table["created_at"])).as_py()]).to_pylist()[0]
    differs = None
    for column in columns:
        other = pc.invert(pc.fill_null(pc.equal(table[column], newest[column]), newest[column] is None))
        differs = other if differs is None else pc.or_(differs, other)
    return int(pc.sum(differs).as_py() or 0)


def print_report(out_dir: str) -> None:
    """Print the report of output folder `out_dir` (ConfigError when it holds no manifest)."""
    columns = ["status", "error_type", "error_message", "created_at", *SETTINGS]
    from vtonpipe.stages import STAGES, stage_class

    if not (Path(out_dir) / "manifests").is_dir():
        raise ConfigError(f"{out_dir} holds no manifests/ folder: not a vtonpipe output folder "
                          "(run `vtonpipe ingest ... --out DIR` first)")
    inputs = {}
    for name, key in INGEST_KEYS.items():
        table = read_manifest(out_dir, name, key=key)
        if table is None:
            continue
        counts = status_counts(table)
        inputs[name] = counts.get("ok", 0)
        print(f"{name:<11} {table.num_rows:>9} rows  " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        for line in _reasons(table):
            print(f"{'':<11}{line}")
    folders = sorted(p.name for p in (Path(out_dir) / "manifests").iterdir() if p.is_dir())
    for name in folders:
        base = name.split("-")[0] if name not in STAGES else name  # tryon-<model> is the tryon stage's
        if base not in STAGES:
            continue
        cls = stage_class(base)
        table = read_manifest(out_dir, name, key=cls.key)
        if table is None:
            continue
        table = table.select([c for c in [cls.key, *columns] if c in table.column_names])
        counts = status_counts(table)
        total = inputs.get(cls.input)
        progress = f"{counts.get('ok', 0)}/{total} ok" if total is not None else f"{counts.get('ok', 0)} ok"
        others = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if k != "ok")
        stale = _stale(table)
        extra = [others] if others else []
        if stale:
            extra.append(f"{stale} stale (made with another model, version or options than the newest rows; "
                         "--rerun-stale redoes them)")
        print(f"{name:<11} {progress:>15}  " + "; ".join(extra))
        for line in _reasons(table):
            print(f"{'':<11}{line}")
