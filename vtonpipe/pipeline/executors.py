"""Executors: the one thing that differs between running a stage in-process and on Ray Data.

Both take a Plan (due rows, read back part by part) and hand every result table to a ResultSink;
planning, upstream readiness, part writing, progress and the summary are shared (pipeline/run.py).

- LocalExecutor: the stage in this process, batch after batch (tests, small runs, evaluation).
- RayDataExecutor: Ray Data, streaming:
      from_items(part, row indices) -> map_batches(read rows, one batch_size table at a time)
      -> map_batches(StageActor, ActorPoolStrategy(size=n), resources={"ov_<class>": 1})
      -> driver: iter_batches -> ResultSink
  Every batch is its own block (the dataset's target block size is one byte), so every finished
  batch reaches the manifest promptly and no extra repartition task needs a CPU beside the
  actors; actors report the step of long rows to a ProgressBoard actor the driver polls.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.errors import ConfigError
from vtonpipe.pipeline.devices import device_class, inventory, lease_device, ray_resources
from vtonpipe.pipeline.plan import PartRows, Plan, read_rows
from vtonpipe.pipeline.sink import ResultSink
from vtonpipe.stages.base import Stage

STEP_REPORT_SECONDS = 0.5  # an actor reports a long row's step at most this often


class Executor(ABC):
    """Maps a plan's due rows through a stage into a sink."""

    name: ClassVar[str]

    def __init__(self, cfg: Any):
        self.cfg = cfg

    @abstractmethod
    def map_rows(self, stage: Stage, plan: Plan, sink: ResultSink) -> None:
        """Process every due row of `plan` with `stage`; every result table goes to `sink.add`."""


class LocalExecutor(Executor):
    """The stage in this process: setup once, then batch after batch."""

    name = "local"

    def map_rows(self, stage: Stage, plan: Plan, sink: ResultSink) -> None:
        stage.with_threads(os.cpu_count() or 1)
        stage.on_step = lambda key, step, steps: sink.steps({"local": (key, step, steps)})
        stage.setup(local_device(stage.resources.device_class))
        try:
            for table in plan.tables(max_rows=stage.batch_size):
                sink.add(stage.to_table(stage.process_batch(table.to_pylist())))
                sink.steps({})
        finally:
            stage.teardown()


def local_device(cls: str | None) -> str:
    """The first OpenVINO device of class `cls` on this machine ("none" for a stage without a model)."""
    if cls is None:
        return "none"
    devices = [d for d in inventory() if device_class(d) == cls]
    if not devices:
        raise ConfigError(f"no OpenVINO {cls.upper()} device on this machine (found: {', '.join(inventory())})")
    return devices[0]


class ProgressBoard:
    """Ray actor holding the step of every long row in flight (worker -> (key, step, steps))."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, int, int]] = {}

    def update(self, worker: str, key: str, step: int, steps: int) -> None:
        self.rows[worker] = (key, step, steps)

    def clear(self, worker: str) -> None:
        self.rows.pop(worker, None)

    def snapshot(self) -> dict[str, tuple[str, int, int]]:
        return dict(self.rows)


class StageActor:
    """Ray Data callable class: leases a device on its node, sets the stage up once, runs batches."""

    def __init__(self, stage: Stage, slots: int, board: Any):
        import ray

        ctx = ray.get_runtime_context()
        node_id = ctx.get_node_id()
        stage.context = replace(stage.context, node=f"{ray.util.get_node_ip_address()}:{node_id[:8]}")
        # OpenVINO ignores OMP_NUM_THREADS: share this node's cores between its CPU slots explicitly.
        stage.with_threads(max(1, (os.cpu_count() or 1) // max(1, slots)))
        self.worker = ctx.get_actor_id() or str(os.getpid())
        self.board = board
        self.lease = None
        device = "none"
        if stage.resources.device_class:
            # Leases live in this Ray session's folder, per node: independent Ray instances on one
            # host, and several raylets on one machine, never compete for the same lock files.
            lease_dir = Path(ctx.get_temp_dir()) / ctx.get_session_name() / "vtonpipe-leases" / node_id
            self.lease = lease_device(stage.resources.device_class, lease_dir=lease_dir, slots=slots)
            device = self.lease.device
        self._last_report = 0.0
        stage.on_step = self._report
        self.stage = stage
        stage.setup(device)

    def _report(self, key: str, step: int, steps: int) -> None:
        now = time.monotonic()
        if now - self._last_report >= STEP_REPORT_SECONDS or step == steps:
            self._last_report = now
            self.board.update.remote(self.worker, key, step, steps)

    def __call__(self, batch: pa.Table) -> pa.Table:
        table = self.stage.to_table(self.stage.process_batch(batch.to_pylist()))
        self.board.clear.remote(self.worker)
        return table

    def __del__(self) -> None:
        stage = getattr(self, "stage", None)
        if stage is not None:
            stage.teardown()


def read_due_rows(items: pa.Table, rows: int) -> Iterator[pa.Table]:
    """Ray Data map: (part path, row group, row indices) items -> those input rows, `rows` at a time."""
    for path, group, indices in zip(items["path"].to_pylist(), items["row_group"].to_pylist(),
                                    items["indices"].to_pylist()):
        yield from read_rows(PartRows(Path(path), group, np.asarray(indices, dtype=np.int64)), None, rows)


@contextmanager
def stderr_without(marker: str) -> Iterator[None]:
    """Drop the lines containing `marker` that this process (C++ code included) writes to fd 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if marker not in line]
            sys.stderr.write("".join(kept))


def ensure_ray(cfg: Any) -> None:
    """Join the configured cluster, or start an embedded local Ray advertising this node's devices.

    Unless cfg.verbose, Ray's own chatter is hidden: C++ log lines below fatal, the workers' log
    lines (row errors come back in rows, actor failures as exceptions) and Python warnings.
    """
    import ray
    from ray.data import DataContext

    verbose = bool(getattr(cfg, "verbose", False))
    if not verbose:
        # Ray's C++ core logs warnings to the terminal that need no action (e.g. that actor
        # constructor arguments live in the object store). Each process then says once that
        # it read this variable: the driver's line is dropped below, the workers' stay in Ray's logs.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    if not ray.is_initialized():
        quiet = {"logging_level": "INFO" if verbose else "ERROR", "log_to_driver": verbose,
                 "configure_logging": True}
        with warnings.catch_warnings(), nullcontext() if verbose else stderr_without("RAY_BACKEND_LOG_LEVEL"):
            if not verbose:
                warnings.simplefilter("ignore")
            if cfg.address:
                ray.init(address=cfg.address, **quiet)
            else:
                ray.init(resources=ray_resources(inventory(), cfg.cpu_slots), include_dashboard=False, **quiet)
    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False  # the sink draws one bar per stage (rows, errors, steps)
    ctx.print_on_execution_start = False
    ctx.verbose_stats_logs = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)


def pool_size(stage: Stage, cfg: Any, todo_rows: int) -> int:
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


class RayDataExecutor(Executor):
    """The stage on an actor pool of Ray Data, rows streamed from the plan."""

    name = "ray"
    poll_seconds = 1.0

    def map_rows(self, stage: Stage, plan: Plan, sink: ResultSink) -> None:
        import ray
        import ray.data
        from ray.data import ActorPoolStrategy, DataContext, TaskPoolStrategy

        ensure_ray(self.cfg)
        size = pool_size(stage, self.cfg, plan.todo)
        board = ray.remote(num_cpus=0)(ProgressBoard).remote()
        # One read task per row group with due rows; it yields them a batch at a time.
        items = [{"path": str(part.path), "row_group": part.row_group, "indices": part.indices} for part in plan.due]
        res = stage.resources
        DataContext.get_current().target_max_block_size = 1  # every yielded batch is a block
        ds = (
            ray.data.from_items(items, override_num_blocks=len(items))
            # One reader at a time: it streams small blocks far faster than actors consume them.
            .map_batches(read_due_rows, fn_kwargs={"rows": stage.batch_size}, batch_size=1, batch_format="pyarrow",
                         num_cpus=0.1, compute=TaskPoolStrategy(size=1))
            .map_batches(
                StageActor,
                fn_constructor_args=(stage, self.cfg.cpu_slots, board),
                compute=ActorPoolStrategy(size=size),
                batch_size=stage.batch_size,
                batch_format="pyarrow",
                num_cpus=res.num_cpus,
                resources={f"ov_{res.device_class}": 1} if res.device_class else None,
                **({"memory": res.memory} if res.memory else {}),
            )
        )
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(self.poll_seconds):
                try:
                    sink.steps(ray.get(board.snapshot.remote(), timeout=5))
                except Exception:  # progress display only: never disturb the run
                    continue

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                sink.add(batch)
        finally:
            stop.set()
            poller.join(timeout=2)
            ray.kill(board)


EXECUTORS = {cls.name: cls for cls in (LocalExecutor, RayDataExecutor)}


def make_executor(name: str, cfg: Any) -> Executor:
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    return EXECUTORS[name](cfg)
