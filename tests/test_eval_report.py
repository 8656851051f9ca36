"""run_evaluation end to end on tiny IRs: protocol, outputs, cache, and the report in Chromium."""

import json
import re
import os
import shutil
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vtonpipe.eval.report import SheetRow, render_report
from vtonpipe.models.inception.tiny import build_tiny_ir as tiny_inception
from vtonpipe.models.lpips.tiny import build_tiny_ir as tiny_lpips
from vtonpipe.eval.evaluation import pair_images, run_evaluation

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _person(i):
    yy, xx = np.mgrid[0:128, 0:96]
    return np.stack([(xx * 2 + i * 30) % 256, (yy * 2) % 256, np.full_like(xx, 40 * i)], -1).astype(np.uint8)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """GT persons at 128x96 (+ one DressCode garment file), results at 64x48 with noise."""
    root = tmp_path_factory.mktemp("eval-report")
    gt, res, garments = root / "gt", root / "out" / "results" / "tiny" / "paired", root / "garments"
    for d in (gt, res, garments):
        d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(_person(i)).save(gt / f"{i:05d}_0.jpg", quality=95)
        Image.fromarray(_person(i)[::-1]).save(garments / f"{i:05d}_1.jpg")
        small = np.asarray(Image.fromarray(_person(i)).resize((48, 64), Image.LANCZOS)).astype(int)
        Image.fromarray(np.clip(small + rng.normal(0, 8, small.shape), 0, 255).astype(np.uint8)).save(
            res / f"{i:05d}_0__{i:05d}_1.png"
        )
    shutil.copy(garments / "00000_1.jpg", gt / "00000_1.jpg")  # DressCode images/ mixes garments in
    (res / "broken__00001_1.png").write_bytes(b"not a png")
    return {
        "root": root,
        "gt": gt,
        "res": res,
        "garments": garments,
        "inception": tiny_inception(root / "inception"),
        "lpips": tiny_lpips(root / "lpips"),
    }


@pytest.fixture(scope="module")
def paired(world):
    pairs = [
        {"person_stem": f"{i:05d}_0", "garment_stem": f"{i:05d}_1", "person_group": "test",
         "person_image": str(world["gt"] / f"{i:05d}_0.jpg"),
         "garment_image": str(world["garments"] / f"{i:05d}_1.jpg"), "ann_agnostic_mask": None}
        for i in range(5)
    ]
    mask_dir = world["root"] / "out" / "test" / "agnostic-mask"
    mask_dir.mkdir(parents=True)
    Image.fromarray(np.where(np.arange(64)[:, None] > 20, 255, 0).astype(np.uint8).repeat(48, 1)).save(
        mask_dir / "00002_0_mask.png"
    )
    out = world["root"] / "out"
    summary = run_evaluation(
        world["res"], world["gt"], out, paired=True, inception_ir=world["inception"], lpips_ir=world["lpips"],
        images_for=pair_images(pairs, out),
    )
    return out, summary


def test_paired_summary_and_manifest(paired):
    out, summary = paired
    assert json.loads((out / "eval" / "summary.json").read_text()) == summary
    assert summary["mode"] == "paired" and summary["resolution"] == {"height": 64, "width": 48}
    assert set(summary["metrics"]) == {"fid", "kid_x1000", "ssim", "lpips"}
    assert set(summary["conventions"]) == set(summary["metrics"])
    counts = summary["counts"]
    assert counts["gt"] == 5 and counts["gt_garments_excluded"] == 1
    assert counts["results"] == 6 and counts["results_unreadable"] == 1 and counts["results_in_fid"] == 5
    assert counts["rows_ok"] == 5 and counts["rows_error"] == 1
    assert 0.3 < summary["metrics"]["ssim"] < 1.0 and summary["metrics"]["lpips"] > 0
    table = pq.read_table(out / summary["manifest_part"]).to_pylist()
    by_id = {r["pair_id"]: r for r in table}
    ok = by_id["paired/00003_0__00003_1"]
    assert ok["status"] == "ok" and ok["gt"].endswith("00003_0.jpg") and ok["height"] == 64
    assert ok["result"] == "results/tiny/paired/00003_0__00003_1.png"  # relative to out
    bad = by_id["paired/broken__00001_1"]
    assert bad["status"] == "error" and bad["error_type"] == "unreadable_image" and bad["ssim"] is None
    assert abs(np.mean([r["ssim"] for r in table if r["status"] == "ok"]) - summary["metrics"]["ssim"]) < 1e-12


def test_reference_statistics_are_cached_by_content(world, paired, tmp_path):
    out, first = paired
    cache = out / "eval" / "cache"
    again = run_evaluation(world["res"], world["gt"], tmp_path / "o1", paired=False,
                           inception_ir=world["inception"], stats_cache_dir=cache)
    assert again["gt_stats"] == {"digest": first["gt_stats"]["digest"], "cache_hit": True}
    assert again["metrics"]["fid"] == pytest.approx(first["metrics"]["fid"], rel=1e-9)
    assert set(again["metrics"]) == {"fid", "kid_x1000"}
    # A changed GT file changes the digest.
    gt2 = tmp_path / "gt"
    shutil.copytree(world["gt"], gt2)
    Image.fromarray(_person(9)).save(gt2 / "00004_0.jpg")
    changed = run_evaluation(world["res"], gt2, tmp_path / "o2", paired=False,
                             inception_ir=world["inception"], stats_cache_dir=cache)
    assert changed["gt_stats"]["digest"] != first["gt_stats"]["digest"] and not changed["gt_stats"]["cache_hit"]


def test_same_name_results_from_other_tools(world, tmp_path):
    res = tmp_path / "other"
    res.mkdir()
    for i in range(3):
        shutil.copy(world["res"] / f"{i:05d}_0__{i:05d}_1.png", res / f"{i:05d}_0.png")
    summary = run_evaluation(res, world["gt"], tmp_path / "o", paired=True,
                             inception_ir=world["inception"], lpips_ir=world["lpips"])
    assert summary["counts"]["rows_ok"] == 3 and summary["metrics"]["ssim"] > 0.3


def test_report_is_self_contained(paired):
    out, _ = paired
    page = (out / "eval" / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page
    assert page.count("<img ") >= 5 * 3  # person, result, GT for every readable pair at least
    assert "64 x 48" in page
    assert page.count("no garment") == 1  # only the broken result, which is in no pairs row


# CI installs chromium (.ci/run), so there the test always runs; elsewhere it may be skipped.
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="needs the Debian package `chromium` (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(paired, tmp_path):
    out, _ = paired
    page = (out / "eval" / "report.html").read_text()
    # The probe runs after load and writes what the browser decoded into the dumped DOM.
    probe = (
        "<script>window.addEventListener('load', () => { const r = [...document.images].map("
        "i => i.complete && i.naturalWidth > 0 ? 1 : 0); const p = document.createElement('pre');"
        " p.id = 'probe'; p.textContent = JSON.stringify({n: r.length, ok: r.reduce((a, b) => a + b, 0),"
        " errors: window.__errors || []}); document.body.appendChild(p); });"
        "window.__errors = []; window.addEventListener('error', e => window.__errors.push(String(e.message)));"
        "</script>"
    )
    probed = tmp_path / "report.html"
    probed.write_text(page.replace("<head>", "<head>" + probe, 1))
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
         "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout)
    assert found, run.stderr[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["n"] == page.count("<img ") and result["ok"] == result["n"] and result["errors"] == []
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={screenshot}",
         "--window-size=1100,900", (out / "eval" / "report.html").as_uri()],
        capture_output=True, timeout=120,
    )
    assert Image.open(screenshot).size == (1100, 900)


def test_report_marks_failed_and_missing_images():
    html = render_report({"mode": "unpaired", "metrics": {"fid": 1.5}}, [
        SheetRow("unpaired/a__b", result="/nonexistent.png", status="error", error="unreadable_image"),
    ])
    assert "no result" in html and "unreadable_image" in html and "<img" not in html
