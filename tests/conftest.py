"""Shared fixtures: one local Ray per test session, with fake OpenVINO device resources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory):
    """Local Ray advertising ov_cpu=1 and ov_gpu=2; actors see the fake devices CPU, GPU.0, GPU.1."""
    import ray

    env = {
        # workers import the test-only stages in tests/fake_stages.py
        "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
        "VTONPIPE_DEVICES": "CPU,GPU.0,GPU.1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    ray.init(num_cpus=2, resources={"ov_cpu": 1, "ov_gpu": 2}, include_dashboard=False,
             logging_level="ERROR", runtime_env={"env_vars": env})
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def tiny_ir(tmp_path_factory):
    """tiny_ir(family, **preset) -> an IR folder of that tiny preset, built once per test session
    (presets are converted by the real export code; building one costs seconds to a minute)."""
    from vtonpipe.models.families import family_module, tiny_options

    root = tmp_path_factory.mktemp("tiny-irs")
    built: dict[tuple, Path] = {}

    def get(family: str, *, seed: int = 0, **preset):
        options = {**tiny_options(family), **preset}
        key = (family, seed, tuple(sorted(options.items())))
        if key not in built:
            folder = root / f"{family}-{len(built)}"
            family_module(family, "tiny").build_tiny_ir(folder, seed=seed, **preset)
            built[key] = folder
        return built[key]

    return get
