"""The stage contract: what every stage declares and how one batch of rows is processed.

A stage is a small class. The runner knows only these attributes and methods:

- ``name``: CLI name and output manifest name (e.g. ``"parse"``).
- ``input``: the manifest whose ``ok`` rows are the work (``"persons"``, ``"garments"``, ``"pairs"``).
- ``key``: the key column shared by input and output (``"person_id"``...).
- ``columns``: pyarrow fields the stage adds to the common columns.
- ``resources``: CPUs, OpenVINO device class and memory for one actor.
- ``check()``: on the driver, before any row; raise ModelFilesError/ConfigError to fail fast.
- ``setup(device)``: once per actor, compile models on the leased device.
- ``process_row(row) -> dict``: the stage's own columns for one row; raise RowError for a bad row.

``process_batch`` wraps process_row with timing and per-row error capture, so one bad row
never kills a batch. Stage objects are pickled to Ray actors: keep ``__init__`` light and do
heavy work in ``setup``.
"""

from __future__ import annotations

import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone
from typing import Any, ClassVar

import pyarrow as pa

from vtonpipe.errors import RowError
from vtonpipe.manifests.io import MANIFEST_KEYS, ok_rows, read_manifest

OK, ERROR, SKIPPED = "ok", "error", "skipped"

COMMON_FIELDS = [
    pa.field("status", pa.string()),
    pa.field("error_type", pa.string()),
    pa.field("error_message", pa.string()),
    pa.field("duration_ms", pa.float64()),
    pa.field("device", pa.string()),
    pa.field("node", pa.string()),
    pa.field("stage_version", pa.string()),
    pa.field("model_id", pa.string()),
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


class Stage:
    """Base class for stages; see the module docstring for the contract."""

    name: ClassVar[str]
    input: ClassVar[str]
    key: ClassVar[str]
    columns: ClassVar[list[pa.Field]] = []
    version: ClassVar[str] = "1"
    batch_size: ClassVar[int] = 4
    resources: Resources = Resources()

    def __init__(self, out_dir: str, options: dict[str, Any] | None = None):
        self.out_dir = str(out_dir)
        self.options = dict(options or {})
        self.device = "none"
        self.model_id: str | None = None
        self.upstream: dict[str, frozenset[str] | None] = {}  # manifest -> ok keys, set by check()

    # -- driver side ------------------------------------------------------------------------
    @classmethod
    def schema(cls) -> pa.Schema:
        """Output manifest schema: key, stage columns, common columns."""
        return pa.schema([pa.field(cls.key, pa.string()), *cls.columns, *COMMON_FIELDS])

    def check(self) -> None:
        """Fail fast on the driver when the stage cannot run at all (missing models...)."""

    def ok_keys(self, manifest: str) -> frozenset[str] | None:
        """Keys whose latest row in `manifest` is ok; None when that manifest does not exist.

        A consuming stage checks these as well as the files, so an output left on disk by an
        earlier successful run is not used after a rerun of its producer recorded an error.
        """
        table = ok_rows(read_manifest(self.out_dir, manifest, columns=["status"]))
        return None if table is None else frozenset(table[MANIFEST_KEYS[manifest]].to_pylist())

    def model_folder(self, option: str, name: str) -> Path:
        """An IR folder: the path in option `option`, else <models_dir>/<name>."""
        if self.options.get(option):
            return Path(self.options[option])
        return Path(self.options.get("models_dir") or "models") / name

    # -- actor side -------------------------------------------------------------------------
    def setup(self, device: str) -> None:
        """Load and compile models on `device` (called once per actor)."""
        self.device = device

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def process_batch(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Process rows one by one; every input row yields exactly one output row."""
        node = socket.gethostname()
        out = []
        for row in rows:
            start = time.perf_counter()
            result: dict[str, Any] = {self.key: row[self.key]}
            try:
                result.update(self.process_row(row))
                result.setdefault("status", OK)
            except RowError as exc:
                result.update(status=ERROR, error_type=exc.error_type, error_message=exc.message)
            except Exception as exc:  # a bug or an unexpected input: recorded, never fatal
                result.update(
                    status=ERROR,
                    error_type=type(exc).__name__,
                    error_message=f"{exc}\n{traceback.format_exc(limit=3)}",
                )
            result.update(
                duration_ms=(time.perf_counter() - start) * 1000.0,
                device=self.device,
                node=node,
                stage_version=self.version,
                model_id=self.model_id,
                created_at=datetime.now(timezone.utc),
            )
            out.append(result)
        return out

    def to_table(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Rows -> table with the fixed output schema (missing fields become null)."""
        schema = self.schema()
        return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)
