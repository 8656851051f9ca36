"""Executors and planning: resume, per-row errors, retry, staleness, upstream readiness, leases.

Stage logic runs on the local executor; what only Ray does (actor pools, device leases, a killed
driver) runs on the session's local Ray.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_stages import ConsumerStage, EchoStage, LeaseStage, SlowStage
from PIL import Image

from vtonpipe.config import Config
from vtonpipe.datasets import layouts
from vtonpipe.datasets.ingest import ingest
from vtonpipe.errors import ConfigError
from vtonpipe.manifests.io import new_run_id, part_files, read_manifest, write_part
from vtonpipe.pipeline.executors import LocalExecutor, RayDataExecutor, pool_size
from vtonpipe.pipeline.plan import plan_stage
from vtonpipe.pipeline.run import run_stage
from vtonpipe.pipeline.sink import StageSummary
from vtonpipe.stages import make_stage


def _catalog(tmp_path: Path, names: list[str]) -> Path:
    for folder in ("p", "g"):
        (tmp_path / folder).mkdir(exist_ok=True)
    for n in names:
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "p" / f"{n}.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "g" / "g.png")
    out = tmp_path / "out"
    ingest(layouts.scan_catalog(tmp_path / "p", tmp_path / "g", "upper"), out, progress=False)
    return out


def _raw_keys(out: Path, name: str) -> list[str]:
    return [k for f in part_files(out, name) for k in pq.read_table(f)["person_id"].to_pylist()]


def _run(stage, out, executor=LocalExecutor, **cfg):
    config = Config(out=str(out), **cfg)
    return run_stage(stage, config, new_run_id(), executor(config), progress=False)


def _rows(out: Path, name: str) -> dict[str, dict]:
    return {r["person_id"]: r for r in read_manifest(out, name, key="person_id").to_pylist()}


def test_plan_needs_an_input_manifest(tmp_path):
    with pytest.raises(ConfigError, match="run `vtonpipe ingest"):
        plan_stage(make_stage(EchoStage, str(tmp_path)), str(tmp_path))


def test_errors_are_rows_and_rerun_does_nothing(tmp_path):
    out = _catalog(tmp_path, ["a", "b", "bad1", "c", "bad2"])
    summary = _run(make_stage(EchoStage, str(out)), out)
    assert (summary.ok, summary.error) == (3, 2) and not summary.all_failed
    rows = _rows(out, "echo")
    assert rows["catalog/bad1"]["error_type"] == "bad_row" and "marked bad" in rows["catalog/bad1"]["error_message"]
    assert rows["catalog/a"]["status"] == "ok" and (out / rows["catalog/a"]["echo_path"]).read_text() == "catalog/a:a"
    assert rows["catalog/a"]["duration_ms"] >= 0 and rows["catalog/a"]["stage_version"] == "1"
    assert rows["catalog/a"]["params"] == '{"tag": "a"}'

    again = _run(make_stage(EchoStage, str(out)), out)
    assert again.todo == 0 and "nothing to do" in again.message and "--retry-failed" in again.message

    retry = _run(make_stage(EchoStage, str(out)), out, retry_failed=True)
    assert retry.todo == 2 and retry.error == 2  # only the error rows ran again
    assert sorted(_rows(out, "echo")) == sorted(rows)


def test_latest_input_row_wins_and_input_errors_are_never_planned(tmp_path):
    out = _catalog(tmp_path, ["a", "b", "c"])
    persons = read_manifest(out, "persons")
    b = persons.filter(pa.compute.equal(persons["person_id"], "catalog/b"))
    b = b.set_column(b.schema.get_field_index("status"), "status", pa.array(["error"]))
    write_part(out, "persons", b, "zz-later", 0)  # a later ingest found b broken
    plan = plan_stage(make_stage(EchoStage, str(out)), str(out))
    keys = [k for t in plan.tables() for k in t["person_id"].to_pylist()]
    assert sorted(keys) == ["catalog/a", "catalog/c"]


def test_every_row_failing_is_reported(tmp_path):
    out = _catalog(tmp_path, ["bad1", "bad2"])
    summary = _run(make_stage(EchoStage, str(out)), out)
    assert summary.all_failed and len(summary.first_errors) == 2 and "marked bad" in summary.first_errors[0]


def test_stale_rows_are_kept_and_counted_unless_asked(tmp_path):
    out = _catalog(tmp_path, ["a", "b"])
    _run(make_stage(EchoStage, str(out), tag="a"), out)
    kept = _run(make_stage(EchoStage, str(out), tag="b"), out)
    assert kept.todo == 0 and kept.stale_kept == 2
    redone = _run(make_stage(EchoStage, str(out), tag="b"), out, rerun_stale=True)
    assert redone.todo == 2 and redone.ok == 2
    assert (out / _rows(out, "echo")["catalog/a"]["echo_path"]).read_text() == "catalog/a:b"
    assert _run(make_stage(EchoStage, str(out), tag="b"), out).stale_kept == 0


def test_missing_upstream_manifest_is_refused_before_any_row(tmp_path):
    out = _catalog(tmp_path, ["a"])
    with pytest.raises(ConfigError, match="run `vtonpipe echo"):
        _run(make_stage(ConsumerStage, str(out)), out)
    assert not part_files(out, "consumer")


def test_blocked_rows_carry_the_producer_reason_and_retry_by_themselves(tmp_path):
    out = _catalog(tmp_path, ["a", "bad1", "own1"])
    _run(make_stage(EchoStage, str(out)), out)
    first = _run(make_stage(ConsumerStage, str(out)), out)
    assert (first.ok, first.blocked) == (2, 1)  # own1 does not need echo: it runs
    row = _rows(out, "consumer")["catalog/bad1"]
    assert row["error_type"] == "missing_input" and "bad_row: bad1 is marked bad" in row["error_message"]
    waiting = _run(make_stage(ConsumerStage, str(out)), out)
    assert waiting.todo == 0 and waiting.waiting == 1 and waiting.blocked == 0  # not rewritten every run

    (tmp_path / "p" / "bad1.png").rename(tmp_path / "p" / "good1.png")
    echo = read_manifest(out, "echo", key="person_id")
    fixed = echo.filter(pa.compute.equal(echo["person_id"], "catalog/bad1"))
    fixed = fixed.set_column(fixed.schema.get_field_index("status"), "status", pa.array(["ok"]))
    write_part(out, "echo", fixed, "zz-fixed", 0)
    (out / "catalog" / "echo" / "bad1.txt").write_text("fixed")
    again = _run(make_stage(ConsumerStage, str(out)), out)
    assert again.todo == 1 and again.ok == 1  # missing_input rows run once their input is ok
    assert _rows(out, "consumer")["catalog/bad1"]["text"] == "fixed"


def test_consumers_that_do_not_need_a_row_leave_it_out(tmp_path):
    out = _catalog(tmp_path, ["a", "own1", "own2"])
    echo, consumer = make_stage(EchoStage, str(out)), make_stage(ConsumerStage, str(out))
    config = Config(out=str(out))
    summary = run_stage(echo, config, new_run_id(), LocalExecutor(config), progress=False, consumers=[consumer])
    assert (summary.todo, summary.not_needed) == (1, 2)


def test_interrupted_run_keeps_its_rows_and_summary(tmp_path):
    names = [f"p{i:02d}" for i in range(12)]
    out = _catalog(tmp_path, names)
    config = Config(out=str(out))
    summary = StageSummary("echo")

    def interrupt(done: int) -> None:
        if done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage(make_stage(EchoStage, str(out)), config, "run-a", LocalExecutor(config), progress=False,
                  flush_seconds=0.0, summary=summary, on_rows=interrupt)
    written = _raw_keys(out, "echo")
    assert summary.interrupted and summary.ok == len(written) and 4 <= len(written) < 12
    resumed = _run(make_stage(EchoStage, str(out)), out)
    assert resumed.todo == 12 - len(written)
    assert sorted(_raw_keys(out, "echo")) == sorted(f"catalog/{n}" for n in names)  # exactly once


def test_local_executor_reports_steps(tmp_path):
    out = _catalog(tmp_path, ["a"])
    seen = []

    class Recording(LocalExecutor):
        def map_rows(self, stage, plan, sink):
            steps = sink.steps
            sink.steps = lambda rows: (seen.append(dict(rows)), steps(rows))
            super().map_rows(stage, plan, sink)

    config = Config(out=str(out))
    run_stage(make_stage(SlowStage, str(out)), config, "run", Recording(config), progress=False)
    assert {"local": ("catalog/a", 3, 3)} in seen


def test_ray_executor_matches_the_local_one(ray_local, tmp_path):
    out = _catalog(tmp_path, ["a", "b", "bad1", "c", "d"])
    summary = _run(make_stage(EchoStage, str(out)), out, executor=RayDataExecutor)
    assert (summary.ok, summary.error) == (4, 1)
    rows = _rows(out, "echo")
    assert rows["catalog/c"]["status"] == "ok" and ":" in rows["catalog/c"]["node"]  # ip:node id


def test_actors_lease_distinct_devices(ray_local, tmp_path):
    out = _catalog(tmp_path, [f"p{i}" for i in range(6)])
    summary = _run(make_stage(LeaseStage, str(out)), out, executor=RayDataExecutor, workers=2)
    assert summary.ok == 6
    leases = {int(p.stem): p.read_text() for p in (out / "leases").iterdir()}
    assert sorted(leases.values()) == ["GPU.0", "GPU.1"]  # two actors, two distinct devices
    for r in _rows(out, "lease").values():
        assert r["device"] == leases[r["pid"]]  # each row ran on its actor's leased device


def test_pool_size_refuses_missing_device_class(ray_local, tmp_path):
    from vtonpipe.stages.base import Resources

    class NpuStage(EchoStage):
        resources = Resources(num_cpus=1, device_class="npu")

    with pytest.raises(ConfigError, match="ov_npu"):
        pool_size(make_stage(NpuStage, str(tmp_path)), Config(), 10)


_CHILD = """
import sys
import ray
from fake_stages import EchoStage
from vtonpipe.config import Config
from vtonpipe.pipeline.executors import RayDataExecutor
from vtonpipe.pipeline.run import run_stage
from vtonpipe.stages import make_stage
out = sys.argv[1]
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
config = Config(out=out)
run_stage(make_stage(EchoStage, out, sleep=0.3), config, "killed", RayDataExecutor(config), progress=False,
          flush_seconds=0.0)
"""


def test_killed_run_resumes_with_every_row_once(ray_local, tmp_path):
    """SIGKILL the whole driver process group mid-run, then rerun: each key ends up exactly once."""
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
    written = _raw_keys(out, "echo")
    assert 0 < len(written) < len(names)

    summary = _run(make_stage(EchoStage, str(out)), out)
    assert summary.todo == len(names) - len(written) and summary.error == 0
    assert sorted(_raw_keys(out, "echo")) == sorted(f"catalog/{n}" for n in names)
    leftovers = [p for p in (out / "manifests" / "echo").iterdir() if not p.name.startswith("part-")]
    assert leftovers == [] or all(p.suffix == ".tmp" for p in leftovers)  # a torn write never reads as a part


def test_ctrl_c_is_recorded_in_run_json(tmp_path, monkeypatch):
    import json

    from vtonpipe import stages
    from vtonpipe.pipeline.run import run_stages

    monkeypatch.setitem(stages.STAGES, "echo", "fake_stages:EchoStage")
    out = _catalog(tmp_path, ["a", "b", "c", "d", "stop"])
    with pytest.raises(KeyboardInterrupt):
        run_stages(Config(out=str(out), executor="local"), ["echo"], progress=False, command="echo")
    (run,) = json.loads((out / "run.json").read_text())["runs"]
    (echo,) = run["stages"]
    assert echo["interrupted"] and echo["ok"] == 4 and run["command"] == "echo"
    assert len(_raw_keys(out, "echo")) == 4  # the rows finished before Ctrl-C are kept


def test_report_shows_progress_stale_rows_and_reasons(tmp_path, capsys, monkeypatch):
    from vtonpipe import stages
    from vtonpipe.pipeline.report import print_report

    monkeypatch.setitem(stages.STAGES, "echo", "fake_stages:EchoStage")
    out = _catalog(tmp_path, ["a", "b", "bad1"])
    _run(make_stage(EchoStage, str(out), tag="a"), out)
    _run(make_stage(EchoStage, str(out), tag="b"), out, rerun_stale=True)  # redoes a and b, not the error
    print_report(str(out))
    echo = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("echo"))
    assert "2/3 ok" in echo and "1 error" in echo and "1 stale" in echo
    print_report(str(out))
    assert "1 x bad_row: bad1 is marked bad" in capsys.readouterr().out
