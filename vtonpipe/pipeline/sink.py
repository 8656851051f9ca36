"""Where finished rows go, for every executor: manifest parts, the progress bar and the summary.

Rows are written as new Parquet parts every few seconds (and at the end, and on Ctrl-C), so a
killed run loses at most the rows in flight. The bar shows rows done, errors and, for slow stages,
the denoising step of the rows in flight with an ETA that counts partial rows.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from vtonpipe.manifests.io import status_counts, write_part

FIRST_ERRORS = 5


@dataclass
class StageSummary:
    """What one stage run did; recorded in run.json and printed at the end."""

    stage: str
    todo: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0
    blocked: int = 0  # missing_input rows written by the driver (their input is not ok)
    seconds: float = 0.0
    before: dict[str, int] = field(default_factory=dict)
    errors_by_type: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    stale_kept: int = 0
    not_needed: int = 0
    waiting: int = 0
    interrupted: bool = False
    message: str = ""

    @property
    def done(self) -> int:
        return self.ok + self.error + self.skipped

    @property
    def rows_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def all_failed(self) -> bool:
        """Rows were processed and none succeeded."""
        return self.done + self.blocked > 0 and self.ok + self.skipped == 0


class ResultSink:
    """Collects result tables of one stage run: counts, bar, parts written every `flush_seconds`."""

    def __init__(self, out_dir: str, manifest: str, run_id: str, summary: StageSummary, *, total: int,
                 progress: bool, flush_seconds: float = 5.0):
        self.out_dir, self.manifest, self.run_id = out_dir, manifest, run_id
        self.summary = summary
        self.flush_seconds = flush_seconds
        self.buffer: list[pa.Table] = []
        self.parts = 0
        self.last_flush = time.monotonic()
        self.started = time.monotonic()
        self.in_flight: dict[str, tuple[str, int, int]] = {}  # worker -> (row key, step, steps)
        self._lock = threading.Lock()  # executors may report steps from another thread
        tty = sys.stderr.isatty()
        # Off a terminal every refresh is a new line: refresh rarely there.
        self.bar = tqdm(total=total, desc=manifest, unit="row", disable=not progress, file=sys.stderr,
                        mininterval=0.5 if tty else 30.0, dynamic_ncols=tty)

    def add(self, table: pa.Table, *, blocked: bool = False) -> None:
        """Record finished rows (`blocked`: missing_input rows decided on the driver)."""
        if table.num_rows == 0:
            return
        self.buffer.append(table)
        s = self.summary
        if blocked:
            s.blocked += table.num_rows
        else:
            counts = status_counts(table)
            s.ok += counts.get("ok", 0)
            s.error += counts.get("error", 0)
            s.skipped += counts.get("skipped", 0)
        errors = table.filter(pc.equal(table["status"], "error"))
        for key, kind, message in zip(errors[table.column_names[0]].to_pylist(), errors["error_type"].to_pylist(),
                                      errors["error_message"].to_pylist()):
            s.errors_by_type[kind] = s.errors_by_type.get(kind, 0) + 1
            if len(s.first_errors) < FIRST_ERRORS:
                s.first_errors.append(f"{key}: {kind}: {(message or '').splitlines()[0] if message else ''}")
        with self._lock:
            if not blocked:
                self.bar.update(table.num_rows)
            self._postfix()
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def steps(self, in_flight: dict[str, tuple[str, int, int]]) -> None:
        """The rows in flight and their step, from the executor; shown on the bar."""
        with self._lock:
            self.in_flight = dict(in_flight)
            self._postfix()

    def _postfix(self) -> None:
        s = self.summary
        parts = [f"errors={s.error + s.blocked}"] if s.error + s.blocked else []
        if self.in_flight:
            fraction = sum(step / steps for _, step, steps in self.in_flight.values() if steps)
            key, step, steps = max(self.in_flight.values(), key=lambda v: v[1] / max(v[2], 1))
            parts.append(f"step {step}/{steps} of {key}")
            progress = s.done + fraction
            elapsed = time.monotonic() - self.started
            if progress > 0 and self.bar.total:
                remaining = elapsed * (self.bar.total - progress) / progress
                parts.append(f"eta {_duration(remaining)}")
        self.bar.set_postfix_str(", ".join(parts), refresh=False)
        if not self.bar.disable and sys.stderr.isatty():
            self.bar.refresh()

    def flush(self) -> None:
        if self.buffer:
            write_part(self.out_dir, self.manifest, pa.concat_tables(self.buffer, promote_options="default"),
                       self.run_id, self.parts)
            self.parts += 1
            self.buffer.clear()
        self.last_flush = time.monotonic()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.bar.close()
            self.summary.seconds = time.monotonic() - self.started


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def format_summary(summaries: list[StageSummary]) -> str:
    """The end-of-run table and, under each stage, what it skipped and its first errors."""
    lines = [f"{'stage':<12} {'todo':>8} {'ok':>8} {'error':>7} {'skipped':>7} {'rows/s':>8} {'seconds':>8}"]
    for s in summaries:
        lines.append(f"{s.stage:<12} {s.todo:>8} {s.ok:>8} {s.error + s.blocked:>7} {s.skipped:>7} "
                     f"{s.rows_per_second:>8.2f} {s.seconds:>8.1f}")
        notes = [s.message] if s.message else []
        if s.interrupted:
            notes.append(f"interrupted: {s.done} rows written; rerun the same command to resume")
        if s.blocked:
            notes.append(f"{s.blocked} rows wait for their input (missing_input); they run by themselves once it exists")
        if s.waiting:
            notes.append(f"{s.waiting} earlier missing_input rows still wait for their input")
        if s.stale_kept:
            notes.append(f"{s.stale_kept} rows were made by another model, version or options: kept "
                         "(--rerun-stale redoes them)")
        if s.not_needed:
            notes.append(f"{s.not_needed} rows not run: what later stages read comes from the dataset's own files")
        lines += [f"  {n}" for n in notes]
        for kind, n in sorted(s.errors_by_type.items()):
            lines.append(f"  {n} x {kind}")
        if s.all_failed:
            lines += ["  every row failed; first errors:"] + [f"    {e}" for e in s.first_errors]
    return "\n".join(lines)
