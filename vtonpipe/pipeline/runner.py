"""Run stages on Ray Data: plan (what is left), resume, stream, record.

    input manifest (latest ok rows) -- anti-join with the output manifest on the key
      -> ray.data.from_arrow(todo) -> map_batches(StageActor, ActorPoolStrategy(size=n), resources=ov_<class>)
      -> driver: iter_batches -> new Parquet parts in the output manifest, progress bar, summary

Rows are written as parts every few seconds, so a killed run loses at most the rows in flight
and a rerun finishes the job with every key exactly once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from vtonpipe.config import Config
from vtonpipe.errors import ConfigError
from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.manifests.io import ok_rows, read_manifest, status_counts, write_part
from vtonpipe.pipeline.devices import DEFAULT_LEASE_DIR, inventory, lease_device, ray_resources
from vtonpipe.stages.base import Stage

MAX_BLOCKS = 10_000


@dataclass
class StageSummary:
    stage: str
    todo: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0
    seconds: float = 0.0
    before: dict[str, int] = field(default_factory=dict)
    errors_by_type: dict[str, int] = field(default_factory=dict)
    message: str = ""

    @property
    def rows_per_second(self) -> float:
        done = self.ok + self.error + self.skipped
        return done / self.seconds if self.seconds > 0 else 0.0


def plan(stage: type[Stage] | Stage, out_dir: str, retry_failed: bool = False) -> tuple[pa.Table, dict[str, int]]:
    """Input rows still to process, and the output manifest's status counts before this run.

    By default every input key without an output row is due; with retry_failed only keys whose
    latest output row is an error. Input rows that are not ok (e.g. unreadable at ingest) are
    never due: their reason is already recorded in the input manifest.
    """
    key = stage.key
    inputs = ok_rows(read_manifest(out_dir, stage.input, key=key))
    if inputs is None:
        raise ConfigError(f"no {stage.input!r} manifest in {out_dir}: run `vtonpipe ingest` first")
    done = read_manifest(out_dir, stage.name, columns=["status"], key=key)
    before = status_counts(done)
    if done is None:
        todo = inputs if not retry_failed else inputs.slice(0, 0)
    elif retry_failed:
        failed = done.filter(pc.equal(done["status"], "error"))[key]
        todo = inputs.filter(pc.is_in(inputs[key], value_set=failed))
    else:
        todo = inputs.filter(pc.invert(pc.is_in(inputs[key], value_set=done[key])))
    return todo, before


class StageActor:
    """Ray Data callable class: leases a device, sets the stage up once, processes batches."""

    def __init__(self, stage: Stage, lease_dir: str, slots: int):
        if not stage.options.get("threads"):
            # OpenVINO ignores OMP_NUM_THREADS: share this node's cores between its CPU slots explicitly
            stage.options["threads"] = max(1, (os.cpu_count() or 1) // max(1, slots))
        self.lease = None
        device = "none"
        if stage.resources.device_class:
            self.lease = lease_device(stage.resources.device_class, lease_dir=lease_dir, slots=slots)
            device = self.lease.device
        self.stage = stage
        stage.setup(device)

    def __call__(self, batch: pa.Table) -> pa.Table:
        return self.stage.to_table(self.stage.process_batch(batch.to_pylist()))


def ensure_ray(cfg: Config) -> None:
    """Join the configured cluster, or start an embedded local Ray advertising this node's devices."""
    import ray
    from ray.data import DataContext

    if not ray.is_initialized():
        if cfg.address:
            ray.init(address=cfg.address, logging_level="WARNING", log_to_driver=True)
        else:
            ray.init(resources=ray_resources(inventory(), cfg.cpu_slots), include_dashboard=False,
                     logging_level="WARNING", log_to_driver=True)
    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False  # the runner draws its own bar per stage (rows, errors)
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def pool_size(stage: Stage, cfg: Config, todo_rows: int) -> int:
    """Actors for a stage: configured, else one per device unit (or CPU) in the cluster."""
    import ray

    cluster = ray.cluster_resources()
    cls = stage.resources.device_class
    if cls:
        units = int(cluster.get(f"ov_{cls}", 0))
        if units == 0:
            raise ConfigError(
                f"stage {stage.name} needs an OpenVINO {cls.upper()} but no Ray node advertises ov_{cls}; "
                "start nodes with the flags `vtonpipe devices --ray-start-args` prints"
            )
    else:
        units = max(1, int(cluster.get("CPU", 1) // max(stage.resources.num_cpus, 1)) - 1)
    size = min(cfg.workers, units) if cfg.workers and cls else (cfg.workers or units)
    return max(1, min(size, math.ceil(todo_rows / stage.batch_size)))


def run_stage(stage: Stage, cfg: Config, run_id: str, *, progress: bool = True, flush_seconds: float = 5.0,
              on_batch: Callable[[int], None] | None = None) -> StageSummary:
    """Process every due row of one stage; return what happened. `on_batch(rows_done)` is a hook for callers."""
    from ray.data import ActorPoolStrategy
    import ray.data

    stage.check()
    summary = StageSummary(stage.name)
    todo, summary.before = plan(stage, stage.out_dir, cfg.retry_failed)
    summary.todo = todo.num_rows
    if todo.num_rows == 0:
        done = sum(summary.before.values())
        summary.message = (f"nothing to do: {done} rows already recorded "
                           f"({', '.join(f'{v} {k}' for k, v in sorted(summary.before.items())) or 'none'})"
                           + ("; --retry-failed re-runs error rows" if summary.before.get("error") and not cfg.retry_failed else ""))
        return summary
    ensure_ray(cfg)
    size = pool_size(stage, cfg, todo.num_rows)
    res = stage.resources
    # A map task returns its rows only when its whole input block is done: blocks of one batch keep
    # progress and checkpoints fine-grained, capped at MAX_BLOCKS for very large inputs.
    block_rows = max(stage.batch_size, math.ceil(todo.num_rows / MAX_BLOCKS))
    blocks = [todo.slice(i, block_rows) for i in range(0, todo.num_rows, block_rows)]
    ds = ray.data.from_arrow(blocks).map_batches(
        StageActor,
        fn_constructor_args=(stage, DEFAULT_LEASE_DIR, cfg.cpu_slots),
        compute=ActorPoolStrategy(size=size),
        batch_size=stage.batch_size,
        batch_format="pyarrow",
        num_cpus=res.num_cpus,
        resources={f"ov_{res.device_class}": 1} if res.device_class else None,
        **({"memory": res.memory} if res.memory else {}),
    )
    start = time.perf_counter()
    buffer: list[pa.Table] = []
    parts = 0
    last_flush = time.monotonic()
    errors: dict[str, int] = {}

    def flush() -> None:
        nonlocal parts, last_flush
        if buffer:
            write_part(stage.out_dir, stage.name, pa.concat_tables(buffer), run_id, parts)
            parts += 1
            buffer.clear()
        last_flush = time.monotonic()

    bar = tqdm(total=todo.num_rows, desc=stage.name, unit="row", disable=not progress)
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            buffer.append(batch)
            counts = status_counts(batch)
            summary.ok += counts.get("ok", 0)
            summary.error += counts.get("error", 0)
            summary.skipped += counts.get("skipped", 0)
            for t in batch.filter(pc.equal(batch["status"], "error"))["error_type"].to_pylist():
                errors[t] = errors.get(t, 0) + 1
            bar.update(batch.num_rows)
            bar.set_postfix(errors=summary.error)
            if time.monotonic() - last_flush >= flush_seconds:
                flush()
            if on_batch is not None:
                on_batch(summary.ok + summary.error + summary.skipped)
    finally:
        flush()
        bar.close()
        summary.seconds = time.perf_counter() - start
        summary.errors_by_type = errors
    return summary


def format_summary(summaries: list[StageSummary]) -> str:
    """The end-of-run table: ok / error / skipped / rows per second per stage."""
    lines = [f"{'stage':<12} {'todo':>7} {'ok':>7} {'error':>7} {'skipped':>7} {'rows/s':>8} {'seconds':>8}"]
    for s in summaries:
        lines.append(f"{s.stage:<12} {s.todo:>7} {s.ok:>7} {s.error:>7} {s.skipped:>7} "
                     f"{s.rows_per_second:>8.2f} {s.seconds:>8.1f}")
        if s.message:
            lines.append(f"  {s.message}")
        for t, n in sorted(s.errors_by_type.items()):
            lines.append(f"  {n} x {t}")
    return "\n".join(lines)


def record_run(out_dir: str, run_id: str, cfg: Config, command: str, summaries: list[Any]) -> Path:
    """Append this run (config, versions, timings) to <out>/run.json, atomically."""
    from vtonpipe.models.common.ir import library_versions

    path = Path(out_dir) / "run.json"
    runs = json.loads(path.read_text()).get("runs", []) if path.is_file() else []
    runs.append({
        "run_id": run_id,
        "command": command,
        "config": cfg.to_dict(),
        "versions": library_versions(),
        "stages": [asdict(s) if hasattr(s, "__dataclass_fields__") else s for s in summaries],
    })
    atomic_write_bytes(path, json.dumps({"runs": runs}, indent=2, default=str).encode())
    return path
