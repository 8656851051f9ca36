"""Device inventory, Ray resource flags and node-local leases (no Ray needed)."""

from __future__ import annotations

import json

import pytest

from vtonpipe.pipeline.devices import lease_device, ray_resources, ray_start_args


def test_resources_per_device_class():
    devices = ["CPU", "GPU.0", "GPU.1", "NPU"]
    assert ray_resources(devices) == {"ov_cpu": 1, "ov_gpu": 2, "ov_npu": 1}
    assert ray_resources(devices, cpu_slots=2)["ov_cpu"] == 2
    flag = ray_start_args(devices)
    assert flag.startswith("--resources='") and json.loads(flag[len("--resources='"):-1])["ov_gpu"] == 2


def test_leases_never_share_a_device(tmp_path):
    devices = ["CPU", "GPU.0", "GPU.1"]
    a = lease_device("gpu", lease_dir=tmp_path, devices=devices)
    b = lease_device("gpu", lease_dir=tmp_path, devices=devices)
    assert {a.device, b.device} == {"GPU.0", "GPU.1"}
    with pytest.raises(RuntimeError, match="all GPU devices on this node are leased"):
        lease_device("gpu", lease_dir=tmp_path, devices=devices)
    a.release()
    c = lease_device("gpu", lease_dir=tmp_path, devices=devices)
    assert c.device == a.device
    with pytest.raises(RuntimeError, match="no OpenVINO NPU"):
        lease_device("npu", lease_dir=tmp_path, devices=devices)


def test_cpu_slots_allow_sharing_when_configured(tmp_path):
    leases = [lease_device("cpu", lease_dir=tmp_path, slots=2, devices=["CPU"]) for _ in range(2)]
    assert [l.device for l in leases] == ["CPU", "CPU"]
    with pytest.raises(RuntimeError):
        lease_device("cpu", lease_dir=tmp_path, slots=2, devices=["CPU"])
