"""OpenVINO devices on a node, the Ray resources that advertise them, and per-actor leases.

A node advertises one custom Ray resource per OpenVINO device class: ``ov_cpu`` (CPU slots),
``ov_gpu`` (GPU.0, GPU.1, ...), ``ov_npu``. A model stage asks Ray for one unit of its class;
inside the actor, ``lease_device`` picks a concrete device on that node and holds a file lock on
it in a folder of that Ray session and node (the executor chooses it), so two actors never share
a device unless ``slots`` says they may, while independent Ray instances on one host, or several
raylets of one machine, never see each other's leases.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

# Test and cluster override: a comma-separated device list instead of ov.Core().available_devices.
DEVICES_ENV = "VTONPIPE_DEVICES"


def inventory() -> list[str]:
    """OpenVINO devices on this node, e.g. ['CPU', 'GPU.0', 'GPU.1', 'NPU']."""
    override = os.environ.get(DEVICES_ENV)
    if override:
        return [d.strip() for d in override.split(",") if d.strip()]
    import openvino as ov

    return list(ov.Core().available_devices)


def device_class(device: str) -> str:
    """'GPU.1' -> 'gpu'."""
    return device.split(".")[0].lower()


def full_name(device: str) -> str:
    """Human-readable device name from OpenVINO (empty when unknown or overridden)."""
    if os.environ.get(DEVICES_ENV):
        return ""
    import openvino as ov

    try:
        return str(ov.Core().get_property(device, "FULL_DEVICE_NAME"))
    except Exception:  # a plugin that cannot answer is not worth failing over
        return ""


def ray_resources(devices: list[str], cpu_slots: int = 1) -> dict[str, float]:
    """Custom Ray resources for a node's devices: {'ov_cpu': slots, 'ov_gpu': n, ...}."""
    res: dict[str, float] = {}
    for d in devices:
        cls = device_class(d)
        res[f"ov_{cls}"] = res.get(f"ov_{cls}", 0) + (cpu_slots if cls == "cpu" else 1)
    return res


def ray_start_args(devices: list[str], cpu_slots: int = 1) -> str:
    """The `ray start` flag that advertises this node's devices."""
    return f"--resources='{json.dumps(ray_resources(devices, cpu_slots), sort_keys=True)}'"


@dataclass
class Lease:
    """A concrete device held by one actor for its lifetime (released when the process ends)."""

    device: str
    lock_path: str
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


def lease_device(cls: str, *, lease_dir: str | os.PathLike, slots: int = 1,
                 devices: list[str] | None = None) -> Lease:
    """Lock the first free device of class `cls` on this node (each device offers `slots` locks)."""
    devices = inventory() if devices is None else devices
    candidates = [d for d in devices if device_class(d) == cls]
    if not candidates:
        raise RuntimeError(f"no OpenVINO {cls.upper()} device on this node (found: {', '.join(devices) or 'none'})")
    folder = Path(lease_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for device in candidates:
        for slot in range(slots):
            path = folder / f"{device}.slot{slot}.lock"
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return Lease(device, str(path), fd)
    raise RuntimeError(
        f"all {cls.upper()} devices on this node are leased ({', '.join(candidates)} x {slots} slots): "
        "the node advertises more ov_ resources than it has devices; check `vtonpipe devices`"
    )
