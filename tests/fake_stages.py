"""Small stages used only by the runner tests (importable by Ray workers through PYTHONPATH)."""

from __future__ import annotations

import os
import time
from typing import ClassVar

import pyarrow as pa

from vtonpipe.errors import RowError
from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.manifests.layout import item_path
from vtonpipe.stages.base import Resources, Stage


class EchoStage(Stage):
    """Writes <group>/echo/<stem>.txt; persons whose stem starts with 'bad' fail."""

    name: ClassVar[str] = "echo"
    input: ClassVar[str] = "persons"
    key: ClassVar[str] = "person_id"
    columns: ClassVar[list] = [pa.field("echo_path", pa.string())]
    batch_size: ClassVar[int] = 2
    resources = Resources(num_cpus=1, device_class=None)

    def process_row(self, row):
        if row["stem"].startswith("bad"):
            raise RowError("bad_row", f"{row['stem']} is marked bad")
        time.sleep(self.options.get("sleep", 0.0))
        rel = item_path(row["group"], "echo", row["stem"], ".txt")
        atomic_write_bytes(os.path.join(self.out_dir, rel), row["person_id"].encode())
        return {"echo_path": rel}


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
