"""Three raylets on one machine (ray.cluster_utils.Cluster), as a user's cluster test would be:
the stage runs without flags, every actor leases a device on its own node, and the `node`
column names the Ray node. Runs in a subprocess: the test session's own Ray is already up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from vtonpipe.datasets import layouts
from vtonpipe.datasets.ingest import ingest
from vtonpipe.manifests.io import read_manifest

_CHILD = """
import json, sys
import ray
from ray.cluster_utils import Cluster
from fake_stages import LeaseStage
from vtonpipe.config import Config
from vtonpipe.pipeline.executors import RayDataExecutor
from vtonpipe.pipeline.run import run_stage
from vtonpipe.stages import make_stage

out = sys.argv[1]
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"ov_gpu": 1}})
for _ in range(2):
    cluster.add_node(num_cpus=1, resources={"ov_gpu": 1})
cluster.wait_for_nodes()
config = Config(out=out, address=cluster.address, workers=3)
summary = run_stage(make_stage(LeaseStage, out), config, "cluster", RayDataExecutor(config), progress=False)
print(json.dumps({"ok": summary.ok, "error": summary.error}))
ray.shutdown()
cluster.shutdown()
"""


_QUIET_CHILD = """
import sys
from fake_stages import EchoStage
from vtonpipe.config import Config
from vtonpipe.pipeline.executors import RayDataExecutor
from vtonpipe.pipeline.run import run_stage
from vtonpipe.stages import make_stage

out = sys.argv[1]
config = Config(out=out, workers=1, cpu_slots=1)
summary = run_stage(make_stage(EchoStage, out), config, "echo", RayDataExecutor(config), progress=False)
print(summary.ok)
"""


def run_child(tmp_path, code: str, env: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess]:
    """Six catalog persons ingested under tmp_path/out, then `code` run on them in a fresh Python."""
    (tmp_path / "p").mkdir()
    (tmp_path / "g").mkdir()
    for i in range(6):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "p" / f"p{i}.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "g" / "g.png")
    out = tmp_path / "out"
    ingest(layouts.scan_catalog(tmp_path / "p", tmp_path / "g", "upper"), out, progress=False)
    tests = str(Path(__file__).parent)
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    env.pop("RAY_BACKEND_LOG_LEVEL", None)
    done = subprocess.run([sys.executable, "-c", code, str(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    return out, done


def test_embedded_ray_run_prints_no_ray_log_lines(tmp_path):
    _, done = run_child(tmp_path, _QUIET_CHILD, {})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["6"]
    for noise in ("logging.cc", "(raylet)", "core_worker", "constructor arguments", "WARNING", "Warning"):
        assert noise not in done.stderr, done.stderr[-3000:]


def test_three_node_cluster_runs_without_flags(tmp_path):
    out, done = run_child(tmp_path, _CHILD, {"VTONPIPE_DEVICES": "CPU,GPU.0"})  # every node has one GPU.0
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"ok": 6, "error": 0}
    rows = read_manifest(out, "lease", key="person_id").to_pylist()
    assert {r["device"] for r in rows} == {"GPU.0"}
    nodes = {r["node"] for r in rows}
    assert len({p.read_text() for p in (out / "leases").iterdir()}) == 1  # each node leased its own GPU.0
    assert len(list((out / "leases").iterdir())) == 3 and 2 <= len(nodes) <= 3
    assert all(":" in n for n in nodes)  # ip:node id, not a host name shared by the three raylets
