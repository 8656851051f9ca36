"""The runtime (stages, executors, model runtimes, CLI) must import without torch and friends:
a worker node installs only openvino, numpy, opencv, pillow, pyarrow and ray."""

from __future__ import annotations

import subprocess
import sys

CONVERT_ONLY = ("torch", "diffusers", "transformers", "safetensors", "nncf")

_PROBE = """
import sys
import vtonpipe.cli, vtonpipe.demo, vtonpipe.pipeline.run, vtonpipe.eval.evaluation
from vtonpipe.models.families import installed_families, runtime_class
from vtonpipe.stages import STAGES, stage_class
for name in STAGES:
    stage_class(name)
for family in installed_families():
    runtime_class(family)
vtonpipe.cli.build_parser([])
print(",".join(sorted(m for m in %r if m in sys.modules)))
""" % (CONVERT_ONLY,)


def test_runtime_imports_no_convert_extra():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"runtime imported convert-only packages: {out.stdout.strip()}"
