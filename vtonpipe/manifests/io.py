"""Manifest parts on disk: append new Parquet parts, read the latest row per key.

A manifest is a folder of `part-<run_id>-<n>.parquet` files. Parts are only ever added (written to
a temp name, then os.replace), so a killed run loses at most the rows it had not flushed. Run ids
sort by time, so "latest row per key" = the row in the last part (and last position) holding it.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vtonpipe.atomic import atomic_target
from vtonpipe.manifests.layout import manifest_dir

# Key column of the manifests ingest writes (stage manifests: each stage's `key`).
INGEST_KEYS = {"persons": "person_id", "garments": "garment_id", "pairs": "pair_id"}


def new_run_id() -> str:
    """Sortable, unique run id: UTC time + random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)


def part_files(out_dir: str | os.PathLike, name: str) -> list[Path]:
    folder = manifest_dir(out_dir, name)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("part-*.parquet") if p.is_file())


def write_part(out_dir: str | os.PathLike, name: str, table: pa.Table, run_id: str, n: int) -> Path:
    """Write one new part atomically and return its path."""
    folder = manifest_dir(out_dir, name)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"part-{run_id}-{n:05d}.parquet"
    with atomic_target(target) as tmp:
        pq.write_table(table, tmp)
    return target


class PartWriter:
    """Streams rows of one manifest into a single new part (for very large manifests).

    Rows go to a temp file; `close()` renames it into place, so readers never see half a part.
    """

    def __init__(self, out_dir: str | os.PathLike, name: str, schema: pa.Schema, run_id: str, n: int = 0):
        self.target = manifest_dir(out_dir, name) / f"part-{run_id}-{n:05d}.parquet"
        self._atomic = atomic_target(self.target)
        self.tmp = self._atomic.__enter__()
        self.schema = schema
        try:
            self.writer = pq.ParquetWriter(self.tmp, schema)
        except BaseException:
            Path(self.tmp).unlink(missing_ok=True)
            raise

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table.cast(self.schema))

    def close(self) -> Path:
        self.writer.close()
        self._atomic.__exit__(None, None, None)
        return self.target

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            Path(self.tmp).unlink(missing_ok=True)


def read_manifest(
    out_dir: str | os.PathLike, name: str, columns: list[str] | None = None, key: str | None = None
) -> pa.Table | None:
    """All parts of a manifest, keeping only the latest row per key. None if it has no parts.

    `key` is needed for stage manifests (vtonpipe.stages.manifest_keys has them all).
    """
    files = part_files(out_dir, name)
    if not files:
        return None
    key = key or INGEST_KEYS[name]
    cols = None if columns is None else list(dict.fromkeys([key, *columns]))
    tables = []
    for f in files:
        schema = pq.read_schema(f)
        names = [c for c in (cols or schema.names) if c in schema.names]
        # Paths, groups and stems repeat across rows (a catalog pairs every person with every
        # garment): dictionary-encoded they cost a fraction of the memory.
        repeated = [c for c in names if c not in (key, "status", "error_type") and pa.types.is_string(schema.field(c).type)]
        tables.append(pq.read_table(f, columns=names, read_dictionary=repeated))
    table = pa.concat_tables(tables, promote_options="default")
    return latest_per_key(table, key)


def latest_per_key(table: pa.Table, key: str) -> pa.Table:
    """Keep the last occurrence of every key (parts are concatenated oldest first)."""
    order = pa.array(range(table.num_rows), pa.int64())
    indexed = table.append_column("__order", order)
    last = indexed.group_by(key).aggregate([("__order", "max")])
    keep = pc.is_in(order, value_set=last["__order_max"])
    return table.filter(keep)


def ok_rows(table: pa.Table | None) -> pa.Table | None:
    """Rows with status == "ok" (tables without a status column are returned as they are)."""
    if table is None or "status" not in table.column_names:
        return table
    return table.filter(pc.equal(table["status"], "ok"))


def status_counts(table: pa.Table | None) -> dict[str, int]:
    if table is None or table.num_rows == 0:
        return {}
    counts = table.group_by("status").aggregate([("status", "count")])
    return dict(zip(counts["status"].to_pylist(), counts["status_count"].to_pylist()))
