"""Config validation and the CLI's behaviour on bad input (no Ray needed)."""

from __future__ import annotations

import os

import pytest

from vtonpipe.cli import main
from vtonpipe.config import load_config
from vtonpipe.errors import ConfigError


def test_config_file_and_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('out = "o1"\nseed = 3\n[stages.tryon]\nsteps = 7\n')
    cfg = load_config(f, {"seed": 5, "out": None, "stages": {"tryon": {"guidance_scale": 2.0}}})
    assert (cfg.out, cfg.seed) == ("o1", 5)
    assert cfg.stage_options("tryon")["steps"] == 7 and cfg.stage_options("tryon")["guidance_scale"] == 2.0
    models_dir = cfg.stage_options("parse")["models_dir"]
    assert os.path.isabs(models_dir) and models_dir.endswith("o1/models")


@pytest.mark.parametrize("text,match", [
    ("colour = 1\n", "unknown config keys"),
    ('seed = "x"\n', "must be int"),
    ("workers = -1\n", ">= 0"),
    ("retry_failed = 1\n", "must be bool"),
    ("seed = \n", "config file"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, match):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(f)


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    assert main(["ingest", "vitonhd", str(tmp_path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "not a VITON-HD folder" in capsys.readouterr().err


def test_cli_devices_prints_ray_flags(capsys, monkeypatch):
    monkeypatch.setenv("VTONPIPE_DEVICES", "CPU,GPU.0")
    assert main(["devices", "--ray-start-args"]) == 0
    assert capsys.readouterr().out.strip() == """--resources='{"ov_cpu": 1, "ov_gpu": 1}'"""


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
    from vtonpipe.cli import _config, build_parser

    f = tmp_path / "c.toml"
    f.write_text("[stages.tryon]\nsteps = 7\nguidance_scale = 3.0\n")
    args = build_parser([]).parse_args(["tryon", "--config", str(f), "--guidance-scale", "1.5"])
    opts = _config(args, ["tryon"]).stage_options("tryon")
    assert opts["steps"] == 7 and opts["guidance_scale"] == 1.5
