"""The pose stage with the tiny OpenPose IR, on the local executor: files VITON-HD's loaders read,
keypoints in the manifest, reuse of shipped keypoints, and no empty file for nobody found."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vtonpipe.config import Config
from vtonpipe.datasets import layouts
from vtonpipe.datasets.images import load_rgb
from vtonpipe.datasets.ingest import ingest
from vtonpipe.datasets.openpose import read_pose, write_openpose_json
from vtonpipe.datasets.synthetic import write_synthetic_vitonhd
from vtonpipe.manifests.io import new_run_id, read_manifest
from vtonpipe.pipeline.executors import LocalExecutor
from vtonpipe.pipeline.run import run_stage
from vtonpipe.stages import make_stage


@pytest.fixture(scope="module")
def irs(tiny_ir):
    return {"template": tiny_ir("openpose"), "random": tiny_ir("openpose", template=False)}


@pytest.fixture
def dataset(tmp_path):
    return write_synthetic_vitonhd(tmp_path / "ds", n_persons=2, n_garments=1, height=128, width=96, seed=3)


def _run(out, ir, **context):
    stage = make_stage("pose", str(out), openpose_ir=str(ir), threads=1, **context)
    stage.check()
    config = Config(out=str(out))
    summary = run_stage(stage, config, new_run_id(), LocalExecutor(config), progress=False)
    return summary, read_manifest(out, "pose", key="person_id").to_pylist()


def test_keypoints_files_and_manifest(tmp_path, irs, dataset):
    out = tmp_path / "out"
    ingest(layouts.scan_vitonhd(dataset, ("test",)), out, progress=False)
    summary, rows = _run(out, irs["template"], reuse_annotations=False)
    assert summary.ok == 2
    for row in rows:
        assert row["people"] >= 1 and len(row["keypoints"]) == 54 and not row["reused"]
        doc = json.loads((out / row["json_path"]).read_text())
        assert doc["version"] == 1.3 and len(doc["people"][0]["pose_keypoints_2d"]) == 75  # BODY_25
        pose = read_pose(out / row["json_path"])  # what VITON-HD's and HR-VITON's loaders read
        assert pose.shape == (25, 2) and pose[1].any()  # a neck
        rendered = load_rgb(out / row["rendered_path"])
        assert rendered.shape == (128, 96, 3) and rendered.any()


def test_nobody_found_is_an_error_row_without_files(tmp_path, irs, dataset):
    for image in (dataset / "test" / "image").iterdir():  # plain gray: the random network finds nobody
        Image.fromarray(np.full((128, 96, 3), 128, np.uint8)).save(image)
    out = tmp_path / "out"
    ingest(layouts.scan_vitonhd(dataset, ("test",)), out, progress=False)
    summary, rows = _run(out, irs["random"], reuse_annotations=False)
    assert summary.all_failed and {r["error_type"] for r in rows} == {"no_person"}
    assert not (out / "test" / "openpose_json").exists()


def test_shipped_keypoints_are_reused(tmp_path, irs, dataset):
    people = [np.array([[10 + i, 20 + i, 0.9] for i in range(18)], dtype=np.float64)]
    for stem in ("00000_00", "00001_00"):
        write_openpose_json(dataset / "test" / "openpose_json" / f"{stem}_keypoints.json", people)
    out = tmp_path / "out"
    ingest(layouts.scan_vitonhd(dataset, ("test",)), out, progress=False)
    summary, rows = _run(out, irs["random"])  # the model finds nobody: only the shipped files can pass
    assert summary.ok == 2 and all(r["reused"] for r in rows)
    assert np.allclose(np.asarray(rows[0]["keypoints"]).reshape(18, 3), people[0])
