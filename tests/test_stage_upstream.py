"""Consuming stages trust their producer's manifest, not only the files on disk."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
from PIL import Image

from vtonpipe.manifests.io import write_part
from vtonpipe.stages.masks import MasksStage


def _status_part(out, name, person_id, status):
    table = pa.table({"person_id": [person_id], "status": [status],
                      "created_at": pa.array([datetime.now(timezone.utc)], pa.timestamp("us", tz="UTC"))})
    write_part(out, name, table, "r1", 0)


def test_stale_map_of_a_failed_producer_row_is_not_used(tmp_path):
    out = tmp_path / "out"
    image = tmp_path / "x.png"
    Image.fromarray(np.full((16, 12, 3), 200, np.uint8)).save(image)
    for folder in ("densepose-parts", "image-parse-lip", "image-parse-atr"):  # left by an earlier ok run
        (out / "test" / folder).mkdir(parents=True)
        Image.fromarray(np.zeros((16, 12), np.uint8)).save(out / "test" / folder / "x.png")
    _status_part(out, "densepose", "test/x", "error")  # the rerun found no person
    _status_part(out, "parse", "test/x", "ok")
    row = {"person_id": "test/x", "group": "test", "stem": "x", "image": str(image), "cloth_type": "upper",
           "dataset": "catalog"}

    stage = MasksStage(str(out), {"reuse_annotations": False})
    stage.check()
    (result,) = stage.process_batch([row])
    assert result["error_type"] == "missing_input" and "densepose manifest" in result["error_message"]

    write_part(out, "densepose", pa.table({"person_id": ["test/x"], "status": ["ok"]}), "r2", 0)  # newer run wins
    stage.check()
    (result,) = stage.process_batch([row])
    assert result["error_type"] == "empty_mask"  # now the files are read (all background here)
