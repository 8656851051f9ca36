"""The tryon stage with the tiny CatVTON IR, without Ray."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vtonpipe.datasets.images import load_rgb
from vtonpipe.errors import ConfigError, ModelFilesError
from vtonpipe.models.catvton.tiny import build_tiny_ir
from vtonpipe.stages import make_stage as stage_for
from vtonpipe.stages.tryon import TryonStage

OPTIONS = {"steps": 3, "seed": 5, "threads": 1, "reuse_annotations": False}


@pytest.fixture(scope="module")
def ir(tiny_ir):
    return tiny_ir("catvton")


def write_pair_files(root, rng, n=3):
    """n persons (with masks from the masks stage under root/out) and n garments; pairs rows."""
    rows = []
    for i in range(n):
        person = root / "src" / f"p{i}.png"
        garment = root / "src" / f"g{i}.png"
        person.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).resize((60, 80)).save(person)
        Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).resize((64, 64)).save(garment)
        mask = np.zeros((80, 60), np.uint8)
        mask[20:60, 10:50] = 255
        mask_path = root / "out" / "test" / "agnostic-mask" / f"p{i}_mask.png"
        mask_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(mask_path)
        rows.append({
            "pair_id": f"unpaired/p{i}__g{i}", "mode": "unpaired", "person_id": f"test/p{i}", "garment_id": f"test/g{i}",
            "person_image": str(person), "garment_image": str(garment), "person_group": "test", "person_stem": f"p{i}",
            "garment_group": "test", "garment_stem": f"g{i}", "cloth_type": "upper", "ann_agnostic_mask": None, "status": "ok",
        })
    return rows


@pytest.fixture
def rows(tmp_path):
    return write_pair_files(tmp_path, np.random.default_rng(0))


def make_stage(out, ir, **options):
    stage = stage_for(TryonStage, str(out), **{**OPTIONS, "model_ir": str(ir), **options})
    stage.check()
    stage.setup("CPU")
    return stage


def test_batch_size_does_not_change_results(tmp_path, ir, rows):
    together = make_stage(tmp_path / "out", ir).process_batch(rows)
    images = [load_rgb(tmp_path / "out" / r["result_path"]) for r in together]
    alone = make_stage(tmp_path / "out", ir)
    for row, first, image in zip(reversed(rows), reversed(together), reversed(images)):
        (again,) = alone.process_batch([row])
        assert again["status"] == "ok" and again["seed"] == first["seed"]
        assert np.array_equal(load_rgb(tmp_path / "out" / again["result_path"]), image)
    assert len({r["seed"] for r in together}) == 3 and not np.array_equal(images[0], images[1])


def test_result_row_and_file(tmp_path, ir, rows):
    stage = make_stage(tmp_path / "out", ir)
    (row,) = stage.process_batch(rows[:1])
    assert row["status"] == "ok", row.get("error_message")
    assert row["result_path"] == "results/catvton/test/unpaired/p0__g0.png"
    assert (row["steps"], row["guidance_scale"], row["height"], row["width"]) == (3, 2.5, 64, 48)
    assert row["latency_ms"] > 0 and row["model_id"].startswith("catvton/tiny@fp32") and row["device"] == "CPU"
    assert load_rgb(tmp_path / "out" / row["result_path"]).shape == (64, 48, 3)
    table = stage.to_table([row])
    assert table.num_rows == 1 and table.schema.field("seed").type == "int64"


def test_missing_mask_is_a_row_error(tmp_path, ir, rows):
    os.remove(tmp_path / "out" / "test" / "agnostic-mask" / "p1_mask.png")
    out = make_stage(tmp_path / "out", ir).process_batch(rows[:2])
    assert out[0]["status"] == "ok"
    assert out[1]["status"] == "error" and out[1]["error_type"] == "missing_input"
    assert "vtonpipe masks" in out[1]["error_message"]
    assert not (tmp_path / "out" / "results" / "catvton" / "test" / "unpaired" / "p1__g1.png").exists()


def test_dataset_mask_used_when_reusing_annotations(tmp_path, ir, rows):
    row = dict(rows[0])
    dataset_mask = tmp_path / "src" / "p0_dataset_mask.png"
    os.replace(tmp_path / "out" / "test" / "agnostic-mask" / "p0_mask.png", dataset_mask)
    row["ann_agnostic_mask"] = str(dataset_mask)
    assert make_stage(tmp_path / "out", ir, reuse_annotations=True).process_batch([row])[0]["status"] == "ok"
    assert make_stage(tmp_path / "out", ir).process_batch([row])[0]["error_type"] == "missing_input"


def test_bad_rows(tmp_path, ir, rows):
    (tmp_path / "out" / "test" / "agnostic-mask" / "p0_mask.png").write_bytes(b"")
    Image.fromarray(np.zeros((80, 60), np.uint8)).save(tmp_path / "out" / "test" / "agnostic-mask" / "p1_mask.png")
    out = make_stage(tmp_path / "out", ir).process_batch(rows[:2])
    assert [r["error_type"] for r in out] == ["unreadable_image", "empty_mask"]


def test_check_fails_fast_without_ir(tmp_path):
    stage = stage_for(TryonStage, str(tmp_path), models_dir=str(tmp_path / "models"))
    with pytest.raises(ModelFilesError, match="vtonpipe models convert catvton"):
        stage.check()


def test_stage_runs_without_torch(tmp_path, ir, rows):
    code = (
        "import sys\n"
        "from vtonpipe.stages import make_stage\n"
        f"s = make_stage('tryon', {str(tmp_path / 'out')!r}, model_ir={str(ir)!r}, steps=1, reuse_annotations=False)\n"
        "s.check()\n"
        "s.setup('CPU')\n"
        f"r = s.process_batch([{rows[0]!r}])[0]\n"
        "assert r['status'] == 'ok', r\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_batch_two_ir_makes_half_the_unet_calls(tmp_path, ir, rows):
    """An IR converted with --batch 2 renders two pairs per UNet call instead of padding each."""
    ir2 = build_tiny_ir(tmp_path / "catvton-b2", seed=0, batch=2)
    calls = {}
    for name, folder in (("batch1", ir), ("batch2", ir2)):
        stage = make_stage(tmp_path / "out", folder)
        stage.runtime.calls.clear()
        out = stage.process_rows(rows[:2])
        assert all(isinstance(r, dict) for r in out)
        calls[name] = sum(n for (model, _), n in stage.runtime.calls.items() if model == "unet")
    assert stage.batch_size == 2
    assert calls == {"batch1": 2 * OPTIONS["steps"], "batch2": OPTIONS["steps"]}


def test_steps_are_reported_while_a_pair_renders(tmp_path, ir, rows):
    stage = make_stage(tmp_path / "out", ir)
    seen = []
    stage.on_step = lambda key, step, steps: seen.append((key, step, steps))
    stage.process_rows(rows[:1])
    assert seen[-1] == (rows[0]["pair_id"], OPTIONS["steps"], OPTIONS["steps"]) and len(seen) == OPTIONS["steps"]


def test_options_of_another_model_are_refused(tmp_path, ir):
    stage = stage_for(TryonStage, str(tmp_path), model="dmvton", steps=10)
    with pytest.raises(ConfigError, match="steps does not apply to dmvton"):
        stage.check()
    stage = stage_for(TryonStage, str(tmp_path), model="stableviton", eta=0.5, sampler="dpmpp-2m")
    with pytest.raises(ConfigError, match="eta, sampler does not apply to stableviton"):
        stage.check()


def test_catalog_rows_share_encodings_across_batches(tmp_path, ir, rows):
    """A catalog run (every person with every garment, one pair per batch, in ingest order: person
    outer) with share_latents encodes each person and each garment once per actor."""
    catalog = [{**p, "garment_id": g["garment_id"], "garment_image": g["garment_image"],
                "garment_stem": g["garment_stem"], "pair_id": f"unpaired/{p['person_stem']}__{g['garment_stem']}"}
               for p in rows for g in rows]
    stage = make_stage(tmp_path / "out", ir, share_latents=True)
    stage.runtime.calls.clear()
    out = [r for row in catalog for r in stage.process_batch([row])]
    assert [r["status"] for r in out] == ["ok"] * 9
    encodings = sum(n for (model, _), n in stage.runtime.calls.items() if model == "vae_encoder")
    # 9 pairs need 18 encodings without sharing: 3 persons + 3 garments with it.
    assert encodings == 6 and stage.runtime.latent_cache.hits == 12
