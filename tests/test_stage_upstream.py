"""Consuming stages trust their producer's manifest, not only the files on disk."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
from PIL import Image

from vtonpipe.config import Config
from vtonpipe.datasets import layouts
from vtonpipe.datasets.ingest import ingest
from vtonpipe.manifests.io import new_run_id, read_manifest, write_part
from vtonpipe.pipeline.executors import LocalExecutor
from vtonpipe.pipeline.run import run_stage
from vtonpipe.stages import make_stage
from vtonpipe.stages.masks import MasksStage


def _status_part(out, name, person_id, status):
    table = pa.table({"person_id": [person_id], "status": [status], "error_type": ["no_person"],
                      "error_message": ["no person detected"],
                      "created_at": pa.array([datetime.now(timezone.utc)], pa.timestamp("us", tz="UTC"))})
    write_part(out, name, table, new_run_id(), 0)


def test_stale_map_of_a_failed_producer_row_is_not_used(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "g").mkdir()
    Image.fromarray(np.full((16, 12, 3), 200, np.uint8)).save(tmp_path / "p" / "x.png")
    Image.fromarray(np.full((16, 12, 3), 200, np.uint8)).save(tmp_path / "g" / "y.png")
    out = tmp_path / "out"
    ingest(layouts.scan_catalog(tmp_path / "p", tmp_path / "g", "upper"), out, progress=False)
    for folder in ("densepose-parts", "image-parse-lip", "image-parse-atr"):  # left by an earlier ok run
        (out / "catalog" / folder).mkdir(parents=True)
        Image.fromarray(np.zeros((16, 12), np.uint8)).save(out / "catalog" / folder / "x.png")
    _status_part(out, "densepose", "catalog/x", "error")  # the rerun found no person
    _status_part(out, "parse", "catalog/x", "ok")
    config = Config(out=str(out))

    def run():
        stage = make_stage(MasksStage, str(out))
        stage.check()
        run_stage(stage, config, new_run_id(), LocalExecutor(config), progress=False)
        return read_manifest(out, "masks", key="person_id").to_pylist()[0]

    row = run()
    assert row["error_type"] == "missing_input" and "densepose row of catalog/x is not ok" in row["error_message"]
    _status_part(out, "densepose", "catalog/x", "ok")  # newer run wins
    assert run()["error_type"] == "empty_mask"  # now the files are read (all background here)
