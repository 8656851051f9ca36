"""The stage contract: what every stage declares and how one batch of rows is processed.

A stage is a small class; the executors know only these attributes and methods:

- ``name``: CLI name and output manifest name (e.g. ``"parse"``; ``manifest`` may refine it).
- ``input``: the manifest whose ``ok`` rows are the work (``"persons"``, ``"garments"``, ``"pairs"``).
- ``key``: the key column shared by input and output (``"person_id"``...).
- ``upstream``: the stage manifests it consumes. The executor resolves their ok keys once, before
  dispatch; a row whose producer row is not ok becomes a ``missing_input`` row carrying the
  producer's reason, and is retried by a later run once its input exists. ``needs(upstream,
  rows)`` says per row whether the producer is needed at all (a dataset may ship the map).
- ``columns``: pyarrow fields the stage adds to the common columns.
- ``resources``: CPUs, OpenVINO device class and memory for one actor.
- ``Options``: a frozen dataclass (vtonpipe.stages.options); fields marked ``result`` shape the
  output, so a row made with other values (or another model_id or version) is stale.
- ``check()``: validation only (model folders, options), once, on the driver, before any row;
  it sets ``model_id`` from the IR folders' model.json. Raise ModelFilesError/ConfigError.
- ``setup(device)``: once per actor: compile models on the leased device.
- ``process_row(row) -> dict`` or, batched, ``process_rows(rows) -> list[dict | RowError]``.
- ``teardown()``: once per actor, at the end.

``process_batch`` wraps process_rows with per-row timing and error capture, so one bad row never
fails its batch-mates. Stage objects are pickled to Ray actors: keep ``__init__`` light, import
runtimes (OpenVINO) in ``setup``, never at module level.
"""

from __future__ import annotations

import json
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.errors import RowError
from vtonpipe.stages.options import NoOptions, build_options, result_params

OK, ERROR, SKIPPED = "ok", "error", "skipped"
MISSING_INPUT = "missing_input"

COMMON_FIELDS = [
    pa.field("status", pa.string()),
    pa.field("error_type", pa.string()),
    pa.field("error_message", pa.string()),
    pa.field("duration_ms", pa.float64()),
    pa.field("device", pa.string()),
    pa.field("node", pa.string()),
    pa.field("stage_version", pa.string()),
    pa.field("model_id", pa.string()),
    pa.field("params", pa.string()),
    pa.field("created_at", pa.timestamp("us", tz="UTC")),
]


@dataclass(frozen=True)
class Resources:
    """What one actor of a stage asks Ray for.

    ``device_class`` is an OpenVINO device class ("cpu", "gpu", "npu") mapped to the custom Ray
    resource ``ov_<class>``; None means a plain CPU stage with no model.
    """

    num_cpus: float = 1.0
    device_class: str | None = None
    memory: int | None = None


@dataclass(frozen=True)
class RunContext:
    """Run-wide settings every stage sees (absolute paths: actors may run on other nodes)."""

    out_dir: str
    models_dir: str
    cache_dir: str | None = None
    threads: int = 0  # OpenVINO threads per actor; 0 = the node's CPUs / its CPU slots
    seed: int = 0
    reuse_annotations: bool = True
    tryon_model: str = "catvton"  # the try-on model this run prepares inputs for
    node: str = ""  # set per actor: the Ray node (ip:node id) or the host name


class Stage:
    """Base class for stages; see the module docstring for the contract."""

    name: ClassVar[str]
    input: ClassVar[str]
    key: ClassVar[str]
    upstream: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[list[pa.Field]] = []
    version: ClassVar[str] = "1"
    batch_size: ClassVar[int] = 4
    resources: ClassVar[Resources] = Resources()
    Options: ClassVar[type] = NoOptions
    # RunContext fields that shape this stage's results (e.g. "seed"), besides its result options.
    context_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, context: RunContext, options: Any = None):
        self.context = context
        self.options = options if options is not None else build_options(self.Options, {})
        self.device = "none"
        self.model_id: str | None = None
        # Set by executors: called with (row key, step, steps) while a long row runs.
        self.on_step: Callable[[str, int, int], None] | None = None

    @property
    def out_dir(self) -> str:
        return self.context.out_dir

    @property
    def manifest(self) -> str:
        """The output manifest's name (the stage's name unless one stage writes several)."""
        return self.name

    # -- driver side ------------------------------------------------------------------------
    @classmethod
    def schema(cls) -> pa.Schema:
        """Output manifest schema: key, stage columns, common columns."""
        return pa.schema([pa.field(cls.key, pa.string()), *cls.columns, *COMMON_FIELDS])

    def check(self) -> None:
        """Fail fast on the driver when the stage cannot run at all (missing models...)."""

    def params(self) -> dict[str, Any]:
        """What shapes this stage's results besides its model and version."""
        values = result_params(self.options)
        values.update({name: getattr(self.context, name) for name in self.context_params})
        return values

    def params_json(self) -> str:
        return json.dumps(self.params(), sort_keys=True)

    def needs(self, upstream: str, rows: pa.Table) -> np.ndarray:
        """Per row of `rows` (input rows), whether it needs `upstream`'s output. Default: all do."""
        return np.ones(rows.num_rows, dtype=bool)

    def needs_columns(self) -> list[str]:
        """Input columns `needs` reads."""
        return []

    def model_folder(self, path: str | None, name: str) -> Path:
        """An IR folder: `path` when given (an option), else <models_dir>/<name>."""
        return Path(path) if path else Path(self.context.models_dir) / name

    # -- actor side -------------------------------------------------------------------------
    def setup(self, device: str) -> None:
        """Load and compile models on `device` (called once per actor)."""
        self.device = device

    def teardown(self) -> None:
        """Release what setup took (called once per actor, at the end)."""

    def with_threads(self, threads: int) -> None:
        """Use `threads` OpenVINO threads unless the run set a number."""
        if not self.context.threads:
            self.context = replace(self.context, threads=threads)

    def report_step(self, key: str, step: int, steps: int) -> None:
        """Tell the executor how far a long row is (e.g. denoising step 12 of 50)."""
        if self.on_step is not None:
            self.on_step(key, step, steps)

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"stage {self.name} implements neither process_row nor process_rows")

    def process_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any] | RowError]:
        """The stage's columns for each row, or a RowError; by default process_row row by row."""
        return [capture_row_error(self.process_row, row) for row in rows]

    def process_batch(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every input row yields exactly one output row with the common columns filled in.

        If process_rows itself fails (a bug, a batched call that broke), each row is retried
        alone, so the failure stays with the row that caused it.
        """
        start = time.perf_counter()
        try:
            results = self.process_rows(rows)
            if len(results) != len(rows):
                raise RuntimeError(f"{self.name}.process_rows returned {len(results)} results for {len(rows)} rows")
            share = (time.perf_counter() - start) * 1000.0 / max(1, len(rows))
            timed = [(r, share) for r in results]
        except Exception:
            if len(rows) == 1:
                timed = [(capture_row_error(lambda row: self.process_rows([row])[0], rows[0]), 0.0)]
            else:
                timed = []
                for row in rows:
                    t0 = time.perf_counter()
                    timed.append((capture_row_error(lambda r: self.process_rows([r])[0], row),
                                  (time.perf_counter() - t0) * 1000.0))
        return [self._finish(row, result, ms) for row, (result, ms) in zip(rows, timed)]

    def _finish(self, row: dict[str, Any], result: dict[str, Any] | RowError, ms: float) -> dict[str, Any]:
        out: dict[str, Any] = {self.key: row[self.key]}
        if isinstance(result, RowError):
            out.update(status=ERROR, error_type=result.error_type, error_message=result.message)
        else:
            out.update(result)
            out.setdefault("status", OK)
        out.setdefault("duration_ms", ms)
        out.update(device=self.device, node=self.context.node or socket.gethostname(), stage_version=self.version,
                   model_id=self.model_id, params=self.params_json(), created_at=datetime.now(timezone.utc))
        return out

    def error_row(self, key: str, error_type: str, message: str) -> dict[str, Any]:
        """An output row for a row the stage never ran (decided on the driver)."""
        out = self._finish({self.key: key}, RowError(error_type, message), 0.0)
        out.update(device="none", node=socket.gethostname())
        return out

    def to_table(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Rows -> table with the fixed output schema (missing fields become null)."""
        schema = self.schema()
        return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)


def capture_row_error(fn: Callable[[dict[str, Any]], Any], row: dict[str, Any]) -> Any:
    """fn(row), with any exception turned into a RowError (a bug or an unexpected input is
    recorded on its row, never fatal to the batch)."""
    try:
        return fn(row)
    except RowError as exc:
        return exc
    except Exception as exc:
        return RowError(type(exc).__name__, f"{exc}\n{traceback.format_exc(limit=3)}")
