"""The whole pipeline on a small synthetic dataset with broken files, on the session's local Ray.

Tiny models are built through the same tiny-preset -> convert path as the demo; the run must
complete, give every bad row its reason, and finish every good row.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vtonpipe.config import Config
from vtonpipe.datasets import layouts
from vtonpipe.datasets.ingest import ingest
from vtonpipe.datasets.synthetic import write_synthetic_vitonhd
from vtonpipe.manifests.io import read_manifest
from vtonpipe.pipeline.run import run_stages
from vtonpipe.stages import default_chain, manifest_keys

PIPELINE_ORDER = ["densepose", "parse", "masks", "cloth-mask", "tryon-catvton"]


# The IR folders `run` needs for CatVTON (the stages' default folder names), from the session's cache.
E2E_MODELS = {"densepose": ("densepose", {}), "schp-lip": ("schp", {"dataset": "lip"}),
              "schp-atr": ("schp", {"dataset": "atr"}), "catvton": ("catvton", {})}


@pytest.fixture(scope="module")
def pipeline_run(ray_local, tmp_path_factory, tiny_ir):
    root = tmp_path_factory.mktemp("e2e")
    dataset = write_synthetic_vitonhd(root / "dataset", n_persons=4, n_garments=3, height=128, width=96, seed=1)
    image_dir = dataset / "test" / "image"
    (image_dir / "00097_00.jpg").write_bytes((image_dir / "00000_00.jpg").read_bytes()[:300])  # truncated
    (image_dir / "00098_00.jpg").write_bytes(b"")  # empty
    with open(dataset / "test_pairs.txt", "a") as f:
        f.write("00097_00.jpg 00001_00.jpg\n00000_00.jpg 00042_00.jpg\n../00000_00.jpg 00001_00.jpg\n")
    out = root / "out"
    (root / "models").mkdir()
    for name, (family, preset) in E2E_MODELS.items():
        (root / "models" / name).symlink_to(tiny_ir(family, **preset))
    ingest(layouts.scan_vitonhd(dataset, ("test",)), out, progress=False)
    cfg = Config(out=str(out), models_dir=str(root / "models"), stages={"tryon": {"steps": 2}})
    summaries = run_stages(cfg, default_chain(cfg), progress=False, command="e2e", skip_unneeded=False)
    return out, {s.stage: s for s in summaries}, cfg


def test_every_stage_ran(pipeline_run):
    out, summaries, _ = pipeline_run
    assert list(summaries) == PIPELINE_ORDER


def test_manifests_have_documented_columns(pipeline_run):
    out, _, _ = pipeline_run
    common = {"status", "error_type", "error_message", "duration_ms", "device", "node", "stage_version",
              "model_id", "created_at"}
    for name in PIPELINE_ORDER:
        df = pd.read_parquet(out / "manifests" / name)
        assert common | {"params", manifest_keys()[name.split("-")[0] if name.startswith("tryon") else name]} <= set(df.columns), name
        assert len(df) > 0


def test_bad_rows_carry_reasons_and_good_rows_are_done(pipeline_run):
    out, summaries, _ = pipeline_run
    persons = {r["person_id"]: r for r in read_manifest(out, "persons").to_pylist()}
    assert persons["test/00097_00"]["status"] == "error" and persons["test/00098_00"]["status"] == "error"
    good_persons = {k for k, r in persons.items() if r["status"] == "ok"}
    assert len(good_persons) == 4
    pairs = {r["pair_id"]: r for r in read_manifest(out, "pairs").to_pylist()}
    assert pairs["unpaired/00097_00__00001_00"]["error_type"] == "bad_person"
    assert pairs["unpaired/00000_00__00042_00"]["error_type"] == "unknown_id"
    assert any(r["error_type"] == "path_traversal" for r in pairs.values())
    for name in ("densepose", "parse", "masks"):
        rows = read_manifest(out, name, key="person_id").to_pylist()
        assert {r["person_id"] for r in rows} == good_persons, name  # bad inputs never reach a stage
        for r in rows:
            assert r["status"] == "ok" or (r["error_type"] and r["error_message"]), (name, r)
    tryon = read_manifest(out, "tryon-catvton", key="pair_id").to_pylist()
    good_pairs = {k for k, r in pairs.items() if r["status"] == "ok"}
    assert {r["pair_id"] for r in tryon} == good_pairs
    for r in tryon:
        if r["status"] == "ok":
            assert (out / r["result_path"]).is_file()
    run = json.loads((out / "run.json").read_text())["runs"][-1]
    assert [s["stage"] for s in run["stages"]] == PIPELINE_ORDER and "openvino" in run["versions"]


def test_rerun_does_nothing(pipeline_run):
    out, _, cfg = pipeline_run
    again = run_stages(cfg, default_chain(cfg), progress=False, command="again")
    assert all(s.todo == 0 and "nothing to do" in s.message for s in again)


def test_run_skips_model_stages_whose_maps_the_dataset_ships(pipeline_run, tmp_path):
    """The synthetic VITON-HD dataset ships image-parse-v3 and image-densepose, which the masks
    stage reads: `run` leaves DensePose and SCHP out for those persons, and says so."""
    out, _, cfg = pipeline_run
    fresh = Config(out=str(tmp_path / "out2"), models_dir=cfg.models_dir, stages=cfg.stages)
    ingest(layouts.scan_vitonhd(out.parent / "dataset", ("test",)), fresh.out, progress=False)
    summaries = {s.stage: s for s in run_stages(fresh, ["densepose", "parse", "masks"], progress=False)}
    assert summaries["densepose"].todo == 0 and summaries["densepose"].not_needed == 4
    assert summaries["parse"].todo == 0 and summaries["parse"].not_needed == 4
    assert summaries["masks"].ok == 4
