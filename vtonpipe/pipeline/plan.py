"""Planning one stage run in bounded driver memory: which input rows are due, which are blocked.

    output manifest parts (key, status, version, model, params)  -> KeySet: state of every done key
    input manifest parts (key), when several runs wrote them     -> rows a later row replaces
    input manifest, row group by row group (key, status, upstream keys, needs columns)
                                                                -> due and blocked row indices

Parts are read one row group at a time. Nothing proportional to the input is kept but two 64-bit
hashes per key while planning and the row indices of due rows (4 bytes each); rows are read back
row group by row group when they are dispatched.

A row is due when its key has no output row, or with ``retry_failed`` when its latest output is
an error, or with ``rerun_stale`` when that output is stale (made by another model, version or
result-shaping options). A ``missing_input`` error is retried by any run once its input exists.
A due row whose needed producer row is not ok is blocked: it gets a ``missing_input`` row with the
producer's reason, written by the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vtonpipe.errors import ConfigError
from vtonpipe.manifests.io import part_files, read_manifest
from vtonpipe.pipeline.keyset import KeySet, key_hashes, last_of_each
from vtonpipe.stages.base import MISSING_INPUT, Stage

# States of a key in the output manifest (KeySet tags).
NEW, FRESH, STALE, FAILED, MISSING = -1, 0, 1, 2, 3


@dataclass
class Upstream:
    """A producer manifest as a consumer sees it: ok keys and the reasons of the others."""

    name: str
    key: str
    ok: frozenset[str]
    reasons: dict[str, str]

    @classmethod
    def read(cls, out_dir: str, name: str) -> Upstream | None:
        """The manifest's state, or None when it has no parts. Its key is its first column."""
        files = part_files(out_dir, name)
        if not files:
            return None
        key = pq.read_schema(files[0]).names[0]
        table = _with_columns(read_manifest(out_dir, name, columns=["status", "error_type", "error_message"], key=key),
                              ["status", "error_type", "error_message"])
        ok = pc.fill_null(pc.equal(table["status"], "ok"), False)
        bad = table.filter(pc.invert(ok))
        reasons = {k: f"{t}: {m}" for k, t, m in zip(bad[key].to_pylist(), bad["error_type"].to_pylist(),
                                                     bad["error_message"].to_pylist())}
        return cls(name, key, frozenset(table.filter(ok)[key].to_pylist()), reasons)

    @cached_property
    def ok_keys(self) -> pa.Array:
        """The ok keys as an Arrow array (for vectorised membership tests)."""
        return pa.array(sorted(self.ok), pa.string())

    def reason(self, key: str) -> str:
        if key in self.reasons:
            return f"the {self.name} row of {key} is not ok ({self.reasons[key]})"
        return f"{self.name} has no row for {key} yet: run `vtonpipe {self.name}`"


@dataclass
class PartRows:
    """Rows of one row group of an input part: indices (ascending) within that row group."""

    path: Path
    row_group: int
    indices: np.ndarray


@dataclass
class Plan:
    stage: str
    probe_columns: list[str] = field(default_factory=list)  # what planning read of each input row
    due: list[PartRows] = field(default_factory=list)
    blocked: list[PartRows] = field(default_factory=list)
    upstream: dict[str, Upstream] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)  # status counts of the output manifest
    stale_kept: int = 0  # stale rows kept because --rerun-stale was not given
    not_needed: int = 0  # rows no consumer of this run needs (the dataset ships what they read)
    waiting: int = 0  # missing_input rows whose input is still missing (not rewritten)

    @property
    def todo(self) -> int:
        return sum(len(p.indices) for p in self.due)

    @property
    def blocked_rows(self) -> int:
        return sum(len(p.indices) for p in self.blocked)

    def tables(self, max_rows: int = 4096) -> Iterator[pa.Table]:
        """The due input rows (every column), read back row group by row group, in tables of at
        most `max_rows`."""
        for part in self.due:
            yield from read_rows(part, None, max_rows)


def row_groups(path: Path, columns: list[str]) -> Iterator[tuple[int, pa.Table]]:
    """(row group index, its `columns` present in the file, the others added as nulls) of a part."""
    parquet = pq.ParquetFile(path)
    names = [c for c in columns if c in parquet.schema_arrow.names]
    for i in range(parquet.num_row_groups):
        yield i, _with_columns(parquet.read_row_group(i, columns=names), columns)


def read_rows(part: PartRows, columns: list[str] | None, max_rows: int = 4096) -> Iterator[pa.Table]:
    """Rows `part.indices` of one row group of a part (all columns when `columns` is None), in slices."""
    parquet = pq.ParquetFile(part.path)
    names = None if columns is None else [c for c in columns if c in parquet.schema_arrow.names]
    table = parquet.read_row_group(part.row_group, columns=names)
    for start in range(0, len(part.indices), max_rows):
        yield table.take(pa.array(part.indices[start:start + max_rows]))


OUTPUT_COLUMNS = ("status", "error_type", "stage_version", "model_id", "params")


def _output_states(stage: Stage, out_dir: str) -> tuple[KeySet, dict[str, int]]:
    """State of every key in the stage's output manifest, and the status counts of its latest rows."""
    his, los, tags, statuses = [], [], [], []
    params = stage.params_json()
    for path in part_files(out_dir, stage.manifest):
        for _, t in row_groups(path, [stage.key, *OUTPUT_COLUMNS]):
            stale = pc.fill_null(pc.not_equal(t["stage_version"], stage.version), False)
            if stage.model_id is not None:
                stale = pc.or_(stale, pc.fill_null(pc.not_equal(t["model_id"], stage.model_id), False))
            stale = pc.or_(stale, pc.fill_null(pc.not_equal(t["params"], params), False))
            error = pc.fill_null(pc.equal(t["status"], "error"), False)
            missing = pc.and_(error, pc.fill_null(pc.equal(t["error_type"], MISSING_INPUT), False))
            tag = np.where(missing.to_numpy(), MISSING, np.where(error.to_numpy(), FAILED,
                                                                np.where(stale.to_numpy(), STALE, FRESH)))
            hi, lo = key_hashes(t[stage.key])
            his.append(hi), los.append(lo), tags.append(tag.astype(np.uint8))
            codes = pc.dictionary_encode(pc.fill_null(t["status"], "?")).combine_chunks()
            statuses.append(np.asarray(codes.dictionary.to_pylist(), dtype=object)[codes.indices.to_numpy()])
    if not his:
        return KeySet.empty(), {}
    hi, lo, tag = np.concatenate(his), np.concatenate(los), np.concatenate(tags)
    latest = last_of_each(hi, lo)
    names, counts = np.unique(np.concatenate(statuses)[latest], return_counts=True)
    return KeySet(hi[latest], lo[latest], tag[latest]), dict(zip(names.tolist(), counts.tolist()))


def _run_of(path: Path) -> str:
    """The run id in a part's name (part-<run id>-<n>.parquet)."""
    return path.stem[len("part-"):].rsplit("-", 1)[0]


def _superseded(files: list[Path], key: str) -> dict[tuple[Path, int], np.ndarray] | None:
    """Per (part, row group), a mask of rows a later row of the same key replaces; None when
    every part comes from one run (a run writes each key once: nothing is replaced)."""
    if len({_run_of(p) for p in files}) <= 1:
        return None
    his, los, where = [], [], []
    for path in files:
        for i, t in row_groups(path, [key]):
            hi, lo = key_hashes(t[key])
            his.append(hi), los.append(lo), where.append(((path, i), t.num_rows))
    latest = last_of_each(np.concatenate(his), np.concatenate(los))
    replaced = np.ones(sum(n for _, n in where), dtype=bool)
    replaced[latest] = False
    out, offset = {}, 0
    for place, n in where:
        out[place] = replaced[offset:offset + n]
        offset += n
    return out


def plan_stage(stage: Stage, out_dir: str, *, retry_failed: bool = False, rerun_stale: bool = False,
               consumers: list[Stage] = ()) -> Plan:
    """Plan one run of `stage` (see the module docstring).

    `consumers`: the stages of this run that read this stage's output from the same input rows;
    when given, rows none of them needs are left out (counted in `not_needed`).
    """
    files = part_files(out_dir, stage.input)
    if not files:
        raise ConfigError(f"no {stage.input!r} manifest in {out_dir}: run `vtonpipe ingest ... --out {out_dir}` first")
    plan = Plan(stage.manifest)
    for name in stage.upstream:
        state = Upstream.read(out_dir, name)
        if state is not None:
            plan.upstream[name] = state
    needs_cols = {c for s in (stage, *consumers) for c in s.needs_columns()}
    plan.probe_columns = list(dict.fromkeys([stage.key, *(u.key for u in plan.upstream.values()), *sorted(needs_cols)]))
    done, plan.before = _output_states(stage, out_dir)
    replaced = _superseded(files, stage.key)
    absent_needed: set[str] = set()
    for path, group, t in ((p, i, t) for p in files for i, t in row_groups(p, [*plan.probe_columns, "status"])):
        # Rows are work when ok; a manifest without a status column (a plain listing) is all work.
        current = pc.fill_null(pc.equal(t["status"], "ok"), False).to_numpy(zero_copy_only=False) \
            if "status" in pq.read_schema(path).names else np.ones(t.num_rows, dtype=bool)
        if replaced is not None:
            current &= ~replaced[(path, group)]
        rows = np.flatnonzero(current).astype(np.int32)
        if not len(rows):
            continue
        t = t.take(pa.array(rows))
        tag = done.lookup(*key_hashes(t[stage.key]), missing=NEW)
        if retry_failed:
            due = (tag == FAILED) | (tag == MISSING)
        else:
            due = (tag == NEW) | (tag == MISSING) | ((tag == STALE) & rerun_stale)
            plan.stale_kept += int(((tag == STALE) & ~np.asarray(rerun_stale)).sum())
        if consumers and not retry_failed:
            wanted = np.zeros(t.num_rows, dtype=bool)
            for consumer in consumers:
                wanted |= consumer.needs(stage.name, t)
            plan.not_needed += int((due & ~wanted).sum())
            due &= wanted
        blocked = np.zeros(t.num_rows, dtype=bool)
        for name in stage.upstream:
            need = due & stage.needs(name, t)
            if not need.any():
                continue
            if name not in plan.upstream:
                absent_needed.add(name)
                continue
            upstream = plan.upstream[name]
            ready = pc.fill_null(pc.is_in(t[upstream.key], value_set=upstream.ok_keys), False).to_numpy(
                zero_copy_only=False)
            blocked |= need & ~ready
        # A recorded missing_input row whose input is still missing stays as it is.
        plan.waiting += int((blocked & (tag == MISSING)).sum())
        new_blocked = blocked & (tag != MISSING)
        if new_blocked.any():
            plan.blocked.append(PartRows(path, group, rows[new_blocked]))
        if (due & ~blocked).any():
            plan.due.append(PartRows(path, group, rows[due & ~blocked]))
    if absent_needed:
        first = sorted(absent_needed)[0]
        raise ConfigError(f"{stage.name} reads the output of {', '.join(sorted(absent_needed))}, which has not run "
                          f"in {out_dir}: run `vtonpipe {first} --out {out_dir}` first (or `vtonpipe run`)")
    return plan


def blocked_rows(plan: Plan, stage: Stage, max_rows: int = 4096) -> Iterator[pa.Table]:
    """The missing_input rows of a plan, as output-manifest tables."""
    for part in plan.blocked:
        for t in read_rows(part, plan.probe_columns, max_rows):
            t = _with_columns(t, plan.probe_columns)
            needs = {u.name: stage.needs(u.name, t) for u in plan.upstream.values()}
            rows = []
            for i, row in enumerate(t.to_pylist()):
                reasons = [u.reason(row[u.key]) for u in plan.upstream.values()
                           if needs[u.name][i] and row[u.key] not in u.ok]
                rows.append(stage.error_row(row[stage.key], MISSING_INPUT, "; ".join(reasons)))
            yield stage.to_table(rows)


def _with_columns(t: pa.Table, columns: list[str]) -> pa.Table:
    """`t` with any of `columns` it lacks added as nulls (older manifests lack newer columns)."""
    for name in columns:
        if name not in t.column_names:
            t = t.append_column(name, pa.nulls(t.num_rows, pa.string()))
    return t
