"""Small stages used only by the executor tests (importable by Ray workers through PYTHONPATH)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.errors import RowError
from vtonpipe.manifests.layout import item_path
from vtonpipe.stages.base import Resources, Stage
from vtonpipe.stages.options import option


@dataclass(frozen=True)
class EchoOptions:
    sleep: float = option(0.0, "seconds per row", minimum=0.0)
    tag: str = option("a", "written into each file; shapes the result", result=True)


class EchoStage(Stage):
    """Writes <group>/echo/<stem>.txt; persons whose stem starts with 'bad' fail."""

    name: ClassVar[str] = "echo"
    input: ClassVar[str] = "persons"
    key: ClassVar[str] = "person_id"
    columns: ClassVar[list] = [pa.field("echo_path", pa.string())]
    batch_size: ClassVar[int] = 2
    resources = Resources(num_cpus=1, device_class=None)
    Options = EchoOptions

    def process_row(self, row):
        if row["stem"].startswith("bad"):
            raise RowError("bad_row", f"{row['stem']} is marked bad")
        if row["stem"].startswith("stop"):
            raise KeyboardInterrupt  # what Ctrl-C does to a running stage
        time.sleep(self.options.sleep)
        rel = item_path(row["group"], "echo", row["stem"], ".txt")
        atomic_write_bytes(os.path.join(self.out_dir, rel), f"{row['person_id']}:{self.options.tag}".encode())
        return {"echo_path": rel}


class ConsumerStage(Stage):
    """Reads the echo stage's output; persons whose stem starts with 'own' bring their own."""

    name: ClassVar[str] = "consumer"
    input: ClassVar[str] = "persons"
    key: ClassVar[str] = "person_id"
    upstream: ClassVar[tuple[str, ...]] = ("echo",)
    columns: ClassVar[list] = [pa.field("text", pa.string())]
    batch_size: ClassVar[int] = 4

    def needs_columns(self):
        return ["stem"]

    def needs(self, upstream, rows):
        return np.array([not s.startswith("own") for s in rows["stem"].to_pylist()], dtype=bool)

    def process_row(self, row):
        if row["stem"].startswith("own"):
            return {"text": "own"}
        with open(os.path.join(self.out_dir, item_path(row["group"], "echo", row["stem"], ".txt"))) as f:
            return {"text": f.read()}


class LeaseStage(Stage):
    """Records which concrete GPU its actor leased."""

    name: ClassVar[str] = "lease"
    input: ClassVar[str] = "persons"
    key: ClassVar[str] = "person_id"
    columns: ClassVar[list] = [pa.field("pid", pa.int64())]
    batch_size: ClassVar[int] = 1
    resources = Resources(num_cpus=0.5, device_class="gpu")

    def setup(self, device):
        super().setup(device)
        # every actor of the pool records its lease, whether or not it gets rows to process
        atomic_write_bytes(os.path.join(self.out_dir, "leases", f"{os.getpid()}.txt"), device.encode())

    def process_row(self, row):
        time.sleep(0.2)
        return {"pid": os.getpid()}


class SlowStage(Stage):
    """Reports steps while it works on a row, like a diffusion stage."""

    name: ClassVar[str] = "slow"
    input: ClassVar[str] = "persons"
    key: ClassVar[str] = "person_id"
    batch_size: ClassVar[int] = 1

    def process_row(self, row):
        for step in range(1, 4):
            time.sleep(0.05)
            self.report_step(row[self.key], step, 3)
        return {}
