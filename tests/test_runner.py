"""The stage runner on a local Ray: resume, per-row errors, retry, device leases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from fake_stages import EchoStage, LeaseStage
from vtonpipe.config import Config
from vtonpipe.datasets import layouts
from vtonpipe.datasets.ingest import ingest
from vtonpipe.errors import ConfigError
from vtonpipe.manifests.io import part_files, read_manifest
from vtonpipe.pipeline.runner import plan, run_stage


def _catalog(tmp_path: Path, names: list[str]) -> Path:
    for folder in ("p", "g"):
        (tmp_path / folder).mkdir(exist_ok=True)
    for n in names:
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "p" / f"{n}.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "g" / "g.png")
    out = tmp_path / "out"
    ingest(layouts.scan_catalog(tmp_path / "p", tmp_path / "g", "upper"), out, progress=False)
    return out


def _all_raw_keys(out: Path, name: str) -> list[str]:
    return [k for f in part_files(out, name) for k in pq.read_table(f)["person_id"].to_pylist()]


def test_plan_needs_an_input_manifest(tmp_path):
    with pytest.raises(ConfigError, match="run `vtonpipe ingest` first"):
        plan(EchoStage, str(tmp_path))


def test_errors_are_rows_and_rerun_does_nothing(ray_local, tmp_path):
    out = _catalog(tmp_path, ["a", "b", "bad1", "c", "bad2"])
    cfg = Config(out=str(out))
    summary = run_stage(EchoStage(str(out)), cfg, "run1", progress=False)
    assert (summary.ok, summary.error) == (3, 2)
    rows = {r["person_id"]: r for r in read_manifest(out, "echo", key="person_id").to_pylist()}
    assert rows["catalog/bad1"]["error_type"] == "bad_row" and "marked bad" in rows["catalog/bad1"]["error_message"]
    assert rows["catalog/a"]["status"] == "ok" and (out / rows["catalog/a"]["echo_path"]).read_text() == "catalog/a"
    assert rows["catalog/a"]["duration_ms"] >= 0 and rows["catalog/a"]["stage_version"] == "1"

    again = run_stage(EchoStage(str(out)), cfg, "run2", progress=False)
    assert again.todo == 0 and "nothing to do" in again.message and "--retry-failed" in again.message

    retry = run_stage(EchoStage(str(out)), Config(out=str(out), retry_failed=True), "run3", progress=False)
    assert retry.todo == 2 and retry.error == 2  # only the error rows ran again
    assert sorted(read_manifest(out, "echo", key="person_id")["person_id"].to_pylist()) == sorted(rows)


def test_interrupted_run_resumes_with_every_row_once(ray_local, tmp_path):
    names = [f"p{i:02d}" for i in range(12)]
    out = _catalog(tmp_path, names)
    cfg = Config(out=str(out))

    def interrupt(done: int) -> None:
        if done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage(EchoStage(str(out), {"sleep": 0.05}), cfg, "run-a", progress=False, flush_seconds=0.0,
                  on_batch=interrupt)
    written = _all_raw_keys(out, "echo")
    assert 4 <= len(written) < 12  # what was processed before the interrupt is kept

    summary = run_stage(EchoStage(str(out)), cfg, "run-b", progress=False)
    assert summary.todo == 12 - len(written)
    raw = _all_raw_keys(out, "echo")
    assert sorted(raw) == sorted(f"catalog/{n}" for n in names)  # exactly once across all parts


def test_actors_lease_distinct_devices(ray_local, tmp_path):
    out = _catalog(tmp_path, [f"p{i}" for i in range(6)])
    summary = run_stage(LeaseStage(str(out)), Config(out=str(out), workers=2), "run", progress=False)
    assert summary.ok == 6
    leases = {int(p.stem): p.read_text() for p in (out / "leases").iterdir()}
    assert sorted(leases.values()) == ["GPU.0", "GPU.1"]  # two actors, two distinct devices
    for r in read_manifest(out, "lease", key="person_id").to_pylist():
        assert r["device"] == leases[r["pid"]]  # each row ran on its actor's leased device


def test_pool_size_refuses_missing_device_class(ray_local, tmp_path):
    from vtonpipe.pipeline.runner import pool_size
    from vtonpipe.stages.base import Resources

    class NpuStage(EchoStage):
        resources = Resources(num_cpus=1, device_class="npu")

    with pytest.raises(ConfigError, match="ov_npu"):
        pool_size(NpuStage(str(tmp_path)), Config(), 10)


_CHILD = """
import sys
import ray
from fake_stages import EchoStage
from vtonpipe.config import Config
from vtonpipe.pipeline.runner import run_stage
out = sys.argv[1]
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
run_stage(EchoStage(out, {"sleep": 0.3}), Config(out=out), "killed", progress=False, flush_seconds=0.0)
"""


def test_killed_run_resumes_with_every_row_once(ray_local, tmp_path):
    """SIGKILL the whole driver process group mid-run, then rerun: each key ends up exactly once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    names = [f"k{i:02d}" for i in range(16)]
    out = _catalog(tmp_path, names)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(out)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not part_files(out, "echo") and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    written = _all_raw_keys(out, "echo")
    assert 0 < len(written) < len(names)

    summary = run_stage(EchoStage(str(out)), Config(out=str(out)), "rerun", progress=False)
    assert summary.todo == len(names) - len(written) and summary.error == 0
    assert sorted(_all_raw_keys(out, "echo")) == sorted(f"catalog/{n}" for n in names)
    leftovers = [p for p in (out / "manifests" / "echo").iterdir() if not p.name.startswith("part-")]
    assert leftovers == [] or all(p.suffix == ".tmp" for p in leftovers)  # a torn write never reads as a part
