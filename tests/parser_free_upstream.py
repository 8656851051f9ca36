"""The official DM-VTON and PF-AFN test-time code, extracted at test time and run on the CPU.

Only what cannot run here is replaced: the cupy correlation kernel (by vtonpipe's plain-op
correlation, itself checked against the kernel's index arithmetic in test_parser_free_ops.py),
and for PF-AFN's test script its torchvision data loader, `.cuda()` and the removed `np.int`.
PF-AFN was trained and tested on torch 1.1, whose grid_sample always aligned corners; the script
passes no align_corners, so it runs with that default restored.
"""

from __future__ import annotations

import contextlib
import functools
import runpy
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F
from upstream import extract

DMVTON_REPO = "KiseKloset/DM-VTON"
PFAFN_REPO = "geyuying/PF-AFN"
DMVTON_FILES = [
    "pipelines", "models/__init__.py", "models/base_model.py", "models/common/__init__.py",
    "models/extractors/__init__.py", "models/extractors/mobile_fpn.py", "models/generators/__init__.py",
    "models/generators/mobile_unet.py", "models/warp_modules/__init__.py", "models/warp_modules/mobile_afwm.py",
    "utils/torch_utils.py",
]
PFAFN_FILES = ["PF-AFN_test/test.py", "PF-AFN_test/models", "PF-AFN_test/options"]
# Top-level package names of the two repositories (removed from sys.modules after each use).
UPSTREAM_PACKAGES = ("models", "pipelines", "utils", "options", "data")

CORRELATION_STUB = '''"""Test stub: the cupy kernel replaced by vtonpipe's plain-op correlation."""
from vtonpipe.models.common.appearance_flow import correlation


def FunctionCorrelation(tenFirst, tenSecond, intStride):
    assert intStride == 1, "both repositories only call the correlation with stride 1"
    return correlation(tenFirst, tenSecond)
'''


@contextlib.contextmanager
def upstream_imports(root: Path):
    """Import upstream modules from `root`, then forget them (both repositories use `models`)."""
    def forget():
        for name in [m for m in sys.modules if m.split(".")[0] in UPSTREAM_PACKAGES]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        forget()


def dmvton_tryon(tmp_path: Path, weights: Path, person: torch.Tensor, garment: torch.Tensor,
                 edge: torch.Tensor) -> tuple[np.ndarray, str]:
    """uint8 N x H x W x 3 try-ons of the official DMVTONPipeline (test phase, align_corners as
    scripts/test.sh sets it) loading `weights`/dmvton_pf_*.pt with the official loader, rounded
    as test.py's torchvision save_image does: clamp to [-1, 1], (x + 1) / 2 * 255 + 0.5, truncate."""
    root, commit = extract(DMVTON_REPO, DMVTON_FILES, tmp_path / "dmvton")
    (root / "models/common/correlation.py").write_text(CORRELATION_STUB)
    with upstream_imports(root):
        from pipelines.dmvton_pipeline import DMVTONPipeline

        pipeline = DMVTONPipeline(align_corners=True, checkpoints={
            "warp": str(weights / "dmvton_pf_warp.pt"), "gen": str(weights / "dmvton_pf_gen.pt")}).eval()
        with torch.no_grad():
            tryon, _ = pipeline(person, garment, edge, phase="test")
    x = ((tryon.clamp(-1, 1) + 1) / 2).mul(255).add(0.5).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy(), commit


def pfafn_tryon(tmp_path: Path, weights: Path, person: torch.Tensor, garment: torch.Tensor,
                edge: torch.Tensor, monkeypatch) -> tuple[np.ndarray, str]:
    """uint8 H x W x 3 try-on written by the official PF-AFN_test/test.py (run as a script on one
    pair, batch size 1, `weights`/PFAFN/*.pth), cut from the right third of its side-by-side image
    before the JPEG encode."""
    root, commit = extract(PFAFN_REPO, PFAFN_FILES, tmp_path / "pfafn")
    script_dir = root / "PF-AFN_test"
    (script_dir / "models/correlation/correlation.py").write_text(CORRELATION_STUB)
    written: list[np.ndarray] = []
    loader = ModuleType("data.data_loader_test")

    class OnePair:
        def load_data(self):
            return [{"image": person, "clothes": garment, "edge": edge}]

        def __len__(self):
            return 1

    loader.CreateDataLoader = lambda opt: OnePair()
    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(torch.nn.Module, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(F, "grid_sample", functools.partial(F.grid_sample, align_corners=True))
    monkeypatch.setattr("cv2.imwrite", lambda path, image: written.append(image) or True)
    monkeypatch.setattr(sys, "argv", [
        "test.py", "--name", "demo", "--resize_or_crop", "None", "--batchSize", "1", "--gpu_ids", "-1",
        "--warp_checkpoint", str(weights / "PFAFN/warp_model_final.pth"),
        "--gen_checkpoint", str(weights / "PFAFN/gen_model_final.pth")])
    monkeypatch.chdir(tmp_path)
    with upstream_imports(script_dir):
        sys.modules["data"] = ModuleType("data")
        sys.modules["data.data_loader_test"] = loader
        with torch.no_grad():
            runpy.run_path(str(script_dir / "test.py"), run_name="__main__")
    assert len(written) == 1, f"test.py wrote {len(written)} images for one pair"
    side_by_side = written[0][:, :, ::-1]
    width = side_by_side.shape[1] // 3
    return np.ascontiguousarray(side_by_side[:, 2 * width:]), commit


def official_tensors(person: np.ndarray, garment: np.ndarray, mask: np.ndarray):
    """The loaders' tensors for uint8 images: ToTensor + Normalize(0.5, 0.5) for RGB, ToTensor for the mask."""
    def rgb(x):
        return (torch.from_numpy(x).permute(2, 0, 1).float().div(255)[None] - 0.5) / 0.5

    return rgb(person), rgb(garment), torch.from_numpy(mask).float().div(255)[None, None]
