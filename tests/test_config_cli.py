"""Config validation and the CLI's behaviour on bad input (no Ray needed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vtonpipe.cli import _config, build_parser, main
from vtonpipe.config import load_config
from vtonpipe.errors import ConfigError


def test_config_file_and_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('out = "o1"\nseed = 3\n[stages.tryon]\nsteps = 7\nmodel_ir = "irs/catvton"\n')
    cfg = load_config(f, {"seed": 5, "out": None, "stages": {"tryon": {"guidance_scale": 2.0}}})
    assert (os.path.basename(cfg.out), cfg.seed) == ("o1", 5) and os.path.isabs(cfg.out)
    assert cfg.stages["tryon"]["steps"] == 7 and cfg.stages["tryon"]["guidance_scale"] == 2.0
    # relative paths become absolute on the driver: actors on other nodes resolve nothing
    assert cfg.stages["tryon"]["model_ir"] == os.path.abspath("irs/catvton")
    assert cfg.resolved_models_dir() == os.path.join(cfg.out, "models")


@pytest.mark.parametrize("text,match", [
    ("colour = 1\n", "unknown config keys"),
    ('seed = "x"\n', "must be int"),
    ("workers = -1\n", ">= 0"),
    ("retry_failed = 1\n", "must be bool"),
    ("seed = \n", "config file"),
    ('executor = "spark"\n', "executor"),
    ("[stages.tryn]\nsteps = 5\n", r"unknown stage table \[stages.tryn\]"),
    ("[stages.tryon]\nstep = 5\n", r"\[stages.tryon\] unknown option step; valid options: .*steps"),
    ('[stages.tryon]\nsteps = "fifty"\n', r"\[stages.tryon\] steps must be int"),
    ("[stages.tryon]\nsteps = 0\n", r"steps must be >= 1"),
    ('[stages.tryon]\nmodel = "sdxl"\n', "model must be one of catvton"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, match):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(f)


def test_bad_flags_are_refused_before_any_row(tmp_path, capsys):
    assert main(["tryon", "--out", str(tmp_path), "--steps", "0", "--no-progress"]) == 2
    assert "steps must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("argv,match", [
    (["ingest", "vitonhd"], "needs the dataset root folder"),
    (["ingest", "catalog", "--garments", "g"], "needs --persons DIR and --garments DIR"),
    (["ingest", "vitonhd", "{root}", "--modes", "pared"], "--modes 'pared': unknown value 'pared'"),
    (["ingest", "vitonhd", "{root}", "--splits", "tset"], "--splits 'tset': unknown value 'tset'"),
    (["ingest", "vitonhd", "{empty}"], "not a VITON-HD folder"),
    (["report", "--out", "{nowhere}"], "holds no manifests/ folder"),
    (["run", "--stages", "pse,tryon", "--out", "{nowhere}"], "unknown stage pse"),
    (["tryon", "--out", "{nowhere}", "--no-progress"], "no 'pairs' manifest"),
])
def test_cli_mistakes_are_one_line_errors(tmp_path, capsys, argv, match):
    (tmp_path / "root" / "test" / "image").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    names = {"root": tmp_path / "root", "empty": tmp_path / "empty", "nowhere": tmp_path / "nowhere"}
    argv = [a.format(**{k: str(v) for k, v in names.items()}) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_models_tiny_rejects_an_unknown_preset_option(tmp_path, capsys):
    assert main(["models", "tiny", "schp", "--out", str(tmp_path / "x"), "--kw", "datset=atr"]) == 2
    err = capsys.readouterr().err
    assert "schp has no preset option 'datset'" in err and "dataset (default lip)" in err


def test_cli_devices_prints_ray_flags(capsys, monkeypatch):
    monkeypatch.setenv("VTONPIPE_DEVICES", "CPU,GPU.0")
    assert main(["devices", "--ray-start-args"]) == 0
    assert capsys.readouterr().out.strip() == """--resources='{"ov_cpu": 1, "ov_gpu": 1}'"""


def test_help_texts_say_what_runs_first_and_list_config_keys():
    stage_help = build_parser(["tryon"])._subparsers._group_actions[0].choices["tryon"].format_help()
    assert "after masks / densepose / cloth-mask" in stage_help and "--guidance-scale" in stage_help
    assert "steps = None  (int) denoising steps (default: the model's, 50)" in stage_help
    tiny = build_parser(["models", "tiny"])._subparsers._group_actions[0].choices["models"]
    tiny_help = tiny._subparsers._group_actions[0].choices["tiny"].format_help()
    assert "dataset=lip" in tiny_help and "height=64" in tiny_help
    for command in ("report", "devices", "demo", "evaluate"):
        assert build_parser([command])._subparsers._group_actions[0].choices[command].description


def test_help_imports_neither_openvino_nor_torch():
    code = ("import sys\nfrom vtonpipe.cli import build_parser\nbuild_parser([]).format_help()\n"
            "print(','.join(m for m in ('openvino', 'torch', 'ray') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == ""


def test_ray_cluster_yaml_is_valid_for_the_launcher():
    import json
    from pathlib import Path

    import jsonschema
    import ray
    import yaml

    root = Path(__file__).parent.parent
    config = yaml.safe_load((root / "ray_cluster.yaml").read_text())
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    assert all("vtonpipe devices --ray-start-args" in c for c in starts if c.startswith("eval"))


def test_cli_stage_flags_override_only_when_given(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[stages.tryon]\nsteps = 7\nguidance_scale = 3.0\n")
    args = build_parser([]).parse_args(["tryon", "--config", str(f), "--guidance-scale", "1.5"])
    opts = _config(args, ["tryon"]).stages["tryon"]
    assert opts["steps"] == 7 and opts["guidance_scale"] == 1.5


def test_a_stage_whose_every_row_failed_exits_non_zero(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    for folder in ("p", "g"):
        (tmp_path / folder).mkdir()
    Image.fromarray(np.full((32, 24, 3), 90, np.uint8)).save(tmp_path / "p" / "p.png")
    for name in ("g1", "g2"):  # white garments on white: no garment to mask
        Image.fromarray(np.full((32, 24, 3), 255, np.uint8)).save(tmp_path / "g" / f"{name}.png")
    out = str(tmp_path / "out")
    assert main(["ingest", "catalog", "--persons", str(tmp_path / "p"), "--garments", str(tmp_path / "g"),
                 "--out", out, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["cloth-mask", "--out", out, "--executor", "local", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "every row failed; first errors:" in captured.out and "no_garment" in captured.out
    assert "every row of cloth-mask failed" in captured.err


def test_models_tiny_prints_each_phase(tmp_path, capsys):
    assert main(["models", "tiny", "lpips", "--out", str(tmp_path / "lpips")]) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    for phase in ("tiny weights written to", "converted to OpenVINO IR in", "compiled on CPU"):
        assert phase in text
    assert (tmp_path / "lpips" / "model.json").is_file()


def test_a_stage_run_before_its_producer_prints_only_the_error(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    for folder in ("p", "g"):
        (tmp_path / folder).mkdir()
    Image.fromarray(np.full((32, 24, 3), 90, np.uint8)).save(tmp_path / "p" / "p.png")
    Image.fromarray(np.full((32, 24, 3), 30, np.uint8)).save(tmp_path / "g" / "g.png")
    out = tmp_path / "out"
    assert main(["ingest", "catalog", "--persons", str(tmp_path / "p"), "--garments", str(tmp_path / "g"),
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["masks", "--out", str(out), "--executor", "local", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no summary table of a stage that never started
    assert captured.err.count("\n") == 1 and "which has not run" in captured.err and "vtonpipe densepose" in captured.err
    assert not (out / "run.json").exists() or "masks" not in (out / "run.json").read_text()
