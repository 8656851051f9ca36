"""Ingest: a dataset folder -> persons, garments and pairs manifests.

Every image is decoded once (probe) before any stage trusts it; a bad file becomes a row with
status "error" and its reason, and ingest never aborts on one. Catalog pairs (every person with
every garment) are generated and written in fixed-size chunks, so ten million pairs never sit in
memory at once.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from vtonpipe.datasets.images import probe_image
from vtonpipe.datasets.layouts import Item, PairSpec, Scan
from vtonpipe.datasets.pairs import Problem
from vtonpipe.errors import RowError
from vtonpipe.manifests.io import PartWriter, new_run_id, write_part

_ITEM_FIELDS = [
    pa.field("dataset", pa.string()),
    pa.field("group", pa.string()),
    pa.field("split", pa.string()),
    pa.field("stem", pa.string()),
    pa.field("file_name", pa.string()),
    pa.field("image", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("mode", pa.string()),
    pa.field("format", pa.string()),
    pa.field("orientation", pa.int32()),
]
_STATUS_FIELDS = [
    pa.field("status", pa.string()),
    pa.field("error_type", pa.string()),
    pa.field("error_message", pa.string()),
    pa.field("created_at", pa.timestamp("us", tz="UTC")),
]
# Dataset annotations a pair row carries from its person and garment (what try-on models can reuse).
PAIR_ANNOTATIONS = ("ann_agnostic_mask", "ann_agnostic", "ann_densepose", "ann_cloth_mask")
PERSONS_SCHEMA = pa.schema([
    pa.field("person_id", pa.string()), *_ITEM_FIELDS, pa.field("cloth_type", pa.string()),
    pa.field("ann_parse", pa.string()), pa.field("ann_densepose", pa.string()),
    pa.field("ann_agnostic_mask", pa.string()), pa.field("ann_agnostic", pa.string()), pa.field("ann_pose", pa.string()),
    *_STATUS_FIELDS,
])
GARMENTS_SCHEMA = pa.schema([
    pa.field("garment_id", pa.string()), *_ITEM_FIELDS, pa.field("category", pa.string()),
    pa.field("ann_cloth_mask", pa.string()), *_STATUS_FIELDS,
])
PAIRS_SCHEMA = pa.schema([
    pa.field("pair_id", pa.string()), pa.field("mode", pa.string()), pa.field("split", pa.string()),
    pa.field("person_id", pa.string()), pa.field("garment_id", pa.string()),
    pa.field("person_image", pa.string()), pa.field("garment_image", pa.string()),
    pa.field("person_group", pa.string()), pa.field("person_stem", pa.string()),
    pa.field("garment_group", pa.string()), pa.field("garment_stem", pa.string()),
    pa.field("cloth_type", pa.string()), *(pa.field(c, pa.string()) for c in PAIR_ANNOTATIONS),
    pa.field("source", pa.string()), *_STATUS_FIELDS,
])


@dataclass
class IngestSummary:
    run_id: str
    persons: Counter = field(default_factory=Counter)
    garments: Counter = field(default_factory=Counter)
    pairs: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # error_type -> count over all rows


def printable(name: str) -> str:
    """A file name as valid UTF-8 (undecodable bytes shown as \\xNN)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _probe_row(item: Item, max_pixels: int) -> dict:
    """One manifest row for an item: its probed size and mode, or the reason it is unusable."""
    row = {
        "dataset": item.dataset, "group": item.group, "split": item.split,
        "stem": printable(item.stem), "file_name": printable(item.file_name), "image": printable(item.path),
        "width": None, "height": None, "mode": None, "format": None, "orientation": None,
        "status": "ok", "error_type": None, "error_message": None,
        **{k: (printable(v) if v else None) for k, v in item.annotations.items()},
    }
    if printable(item.file_name) != item.file_name:
        row.update(status="error", error_type="bad_file_name",
                   error_message=f"file name is not valid UTF-8: {printable(item.file_name)}")
        return row
    try:
        info = probe_image(item.path, max_pixels)
        row.update(width=info.width, height=info.height, mode=info.mode, format=info.format,
                   orientation=info.orientation)
    except RowError as exc:
        row.update(status="error", error_type=exc.error_type, error_message=exc.message)
    return row


def probe_items(items: list[Item], key: str, kind: str, workers: int, max_pixels: int, progress: bool) -> list[dict]:
    """Probe images in a thread pool (PIL releases the GIL while decoding)."""
    now = datetime.now(timezone.utc)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        rows = list(tqdm(pool.map(lambda it: _probe_row(it, max_pixels), items), total=len(items),
                         desc=f"probe {kind}", unit="img", disable=not progress, leave=False))
    first: dict[str, str] = {}
    for item, row in zip(items, rows):
        stem_key = f"{item.group}/{row['stem']}"
        row[key] = stem_key
        if stem_key in first:
            # a.jpg and a.png would share an id and every output path: keep the first, report the other
            row[key] = f"{item.group}/{row['file_name']}"
            row.update(status="error", error_type="duplicate_id",
                       error_message=f"{row['file_name']} has the same id as {first[stem_key]}; rename one")
        else:
            first[stem_key] = row["file_name"]
        row["created_at"] = now
        if kind == "persons":
            row["cloth_type"] = item.cloth_type
        else:
            row["category"] = item.cloth_type
    return rows


def _pair_row(spec: PairSpec, persons: dict[tuple[str, str], dict], garments: dict[tuple[str, str], dict],
              now: datetime) -> dict:
    person = persons.get((spec.person_group, spec.person_file))
    garment = garments.get((spec.garment_group, spec.garment_file))
    p_stem = os.path.splitext(spec.person_file)[0]
    g_stem = os.path.splitext(spec.garment_file)[0]
    row = {
        "pair_id": f"{spec.mode}/{p_stem}__{g_stem}", "mode": spec.mode, "split": spec.split,
        "person_id": f"{spec.person_group}/{p_stem}", "garment_id": f"{spec.garment_group}/{g_stem}",
        "person_group": spec.person_group, "person_stem": p_stem,
        "garment_group": spec.garment_group, "garment_stem": g_stem,
        "source": spec.source, "status": "ok", "error_type": None, "error_message": None, "created_at": now,
    }
    if person is None or garment is None:
        missing = spec.person_file if person is None else spec.garment_file
        what = "person" if person is None else "garment"
        row.update(status="error", error_type="unknown_id",
                   error_message=f"{spec.source}: {what} {missing} not found in {spec.person_group if person is None else spec.garment_group}")
        return row
    row.update(person_image=person["image"], garment_image=garment["image"], cloth_type=person["cloth_type"],
               **{c: person.get(c) if c in person else garment.get(c) for c in PAIR_ANNOTATIONS})
    for what, item in (("person", person), ("garment", garment)):
        if item["status"] != "ok":
            row.update(status="error", error_type=f"bad_{what}",
                       error_message=f"{what} {item['file_name']}: {item['error_message']}")
            break
    return row


def catalog_pair_chunks(persons: pa.Table, garments: pa.Table, chunk_rows: int = 100_000) -> Iterator[pa.Table]:
    """Every ok person with every ok garment, as tables of at most `chunk_rows` rows."""
    persons = persons.filter(pc.equal(persons["status"], "ok"))
    garments = garments.filter(pc.equal(garments["status"], "ok"))
    n_p, n_g = persons.num_rows, garments.num_rows
    total = n_p * n_g
    now = pa.scalar(datetime.now(timezone.utc), pa.timestamp("us", tz="UTC"))
    for start in range(0, total, chunk_rows):
        flat = np.arange(start, min(start + chunk_rows, total), dtype=np.int64)
        p = persons.take(pa.array(flat // n_g))
        g = garments.take(pa.array(flat % n_g))
        n = len(flat)
        pair_id = pc.binary_join_element_wise("unpaired/", p["stem"], "__", g["stem"], "")
        yield pa.table({
            "pair_id": pair_id, "mode": pa.array(["unpaired"] * n), "split": p["split"],
            "person_id": p["person_id"], "garment_id": g["garment_id"],
            "person_image": p["image"], "garment_image": g["image"],
            "person_group": p["group"], "person_stem": p["stem"],
            "garment_group": g["group"], "garment_stem": g["stem"],
            "cloth_type": p["cloth_type"], **{c: (p if c in p.column_names else g)[c] for c in PAIR_ANNOTATIONS},
            "source": pa.array(["catalog"] * n), "status": pa.array(["ok"] * n),
            "error_type": pa.nulls(n, pa.string()), "error_message": pa.nulls(n, pa.string()),
            "created_at": pa.array([now.as_py()] * n, pa.timestamp("us", tz="UTC")),
        }, schema=PAIRS_SCHEMA)


def ingest(scan: Scan, out_dir: str | os.PathLike, *, workers: int = 4, max_pixels: int = 64_000_000,
           progress: bool = True, chunk_rows: int = 100_000) -> IngestSummary:
    """Probe everything a scan found and write the three manifests as new parts."""
    summary = IngestSummary(run_id=new_run_id(), problems=list(scan.problems))
    person_rows = probe_items(scan.persons, "person_id", "persons", workers, max_pixels, progress)
    garment_rows = probe_items(scan.garments, "garment_id", "garments", workers, max_pixels, progress)
    persons = pa.Table.from_pylist(person_rows, schema=PERSONS_SCHEMA)
    garments = pa.Table.from_pylist(garment_rows, schema=GARMENTS_SCHEMA)
    write_part(out_dir, "persons", persons, summary.run_id, 0)
    write_part(out_dir, "garments", garments, summary.run_id, 0)
    for rows, counter in ((person_rows, summary.persons), (garment_rows, summary.garments)):
        for r in rows:
            counter[r["status"]] += 1
            if r["error_type"]:
                summary.errors[r["error_type"]] += 1

    writer = PartWriter(out_dir, "pairs", PAIRS_SCHEMA, summary.run_id)
    try:
        if scan.cross_product:
            chunks: Iterator[pa.Table] = catalog_pair_chunks(persons, garments, chunk_rows)
        else:
            now = datetime.now(timezone.utc)
            by_p = {(item.group, item.file_name): row for item, row in zip(scan.persons, person_rows)}
            by_g = {(item.group, item.file_name): row for item, row in zip(scan.garments, garment_rows)}
            rows = [_pair_row(spec, by_p, by_g, now) for spec in scan.pairs]
            rows += [_problem_row(p, now) for p in scan.problems]
            chunks = iter([pa.Table.from_pylist(rows, schema=PAIRS_SCHEMA)])
        for chunk in chunks:
            writer.write(chunk)
            counts = chunk.group_by(["status"]).aggregate([("status", "count")])
            for status, n in zip(counts["status"].to_pylist(), counts["status_count"].to_pylist()):
                summary.pairs[status] += n
            errs = chunk.filter(pc.is_valid(chunk["error_type"]))
            for t in errs["error_type"].to_pylist():
                summary.errors[t] += 1
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return summary


def _problem_row(problem: Problem, now: datetime) -> dict:
    """A rejected pairs-file line as an error row, keyed by its source position."""
    name = os.path.basename(problem.source)
    return {
        "pair_id": f"rejected/{name}:{problem.line_no}:{problem.error_type}", "mode": None, "split": None,
        "source": f"{name}:{problem.line_no}",
        "status": "skipped" if problem.error_type == "duplicate_pair" else "error", "error_type": problem.error_type,
        "error_message": problem.message, "created_at": now,
    }
