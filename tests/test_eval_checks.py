"""What `evaluate` refuses and warns about, where evaluations go, and the contact-sheet order:
all decided before any model loads, so no IR is needed here."""

import ast
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from vtonpipe.cli import main
from vtonpipe.errors import ConfigError
from vtonpipe.eval import checks
from vtonpipe.eval.folders import comparison_dir, evaluation_dir, locate_results, safe_name
from vtonpipe.eval.provenance import tryon_settings
from vtonpipe.eval.sheet import SheetRow, sheet_order
from vtonpipe.manifests.io import new_run_id, write_part

PACKAGE = Path(__file__).parent.parent / "vtonpipe"


def _images(folder: Path, names) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.full((16, 12, 3), 7, np.uint8)).save(folder / name)
    return [folder / n for n in names]


def _rows(results, gt):
    return [{"pair_id": f"m/{r}", "result": f"/r/{r}", "gt": g} for r, g in zip(results, gt)]


def test_a_folder_of_several_splits_or_modes_is_refused_with_what_to_pass(tmp_path, capsys):
    model = tmp_path / "out" / "results" / "catvton"
    _images(model / "test" / "paired", ["a__b.png"])
    _images(model / "test" / "unpaired", ["a__c.png"])
    _images(tmp_path / "gt", ["a.jpg"])
    assert main(["evaluate", "--results", str(model), "--gt", str(tmp_path / "gt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "holds results of 2 split/mode folders (test/paired, test/unpaired)" in err
    assert f"--results {model / 'test' / 'paired'}" in err
    # One mode folder below is refused too: the evaluation is named for the folder passed.
    solo = _images(tmp_path / "out" / "results" / "solo" / "test" / "paired", ["a__b.png"])[0].parents[2]
    with pytest.raises(ConfigError, match=r"1 split/mode folder \(test/paired\); .* --results .*solo/test/paired$"):
        locate_results(solo / "test" / "paired" / ".." / "..")


def test_where_evaluations_go(tmp_path):
    out = tmp_path / "out"
    paired = locate_results(_images(out / "results" / "catvton" / "test" / "paired", ["a__b.png"])[0].parent)
    assert (paired.root, paired.model, paired.split, paired.mode) == (out, "catvton", "test", "paired")
    assert evaluation_dir(out, paired, "paired") == out / "eval" / "catvton" / "test" / "paired"
    other = locate_results(_images(tmp_path / "ladi vton" / "preds", ["a.png"])[0].parent)
    assert other.root is None and other.mode is None
    assert evaluation_dir(out, other, "unpaired") == out / "eval" / safe_name(str(other.path)) / "unpaired"
    assert evaluation_dir(tmp_path, other, "paired") == tmp_path / "eval" / "ladi-vton-preds" / "paired"
    assert evaluation_dir(other.path, other, "paired") == other.path / "eval" / "preds" / "paired"
    int8 = locate_results(_images(out / "results" / "catvton-int8" / "test" / "paired", ["a__b.png"])[0].parent)
    assert comparison_dir(out, int8, paired) == (out / "eval" / "catvton-int8" / "test" / "paired" / "against"
                                                 / "results-catvton-test-paired")
    long = safe_name("/data/" + "x" * 200 + "/preds")
    assert len(long) <= 80 and long.endswith("x-preds") and long != safe_name("/other/" + "x" * 200 + "/preds")


def test_mode_comes_from_the_folder_and_paired_unpaired_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    unpaired = locate_results(_images(out / "results" / "m" / "test" / "unpaired", ["a__c.png"])[0].parent)
    paired = locate_results(_images(out / "results" / "m" / "test" / "paired", ["a__b.png"])[0].parent)
    assert checks.evaluation_mode(paired, None) == "paired" and checks.evaluation_mode(unpaired, None) == "unpaired"
    _images(tmp_path / "gt", ["a.jpg"])
    assert main(["evaluate", "--results", str(unpaired.path), "--gt", str(tmp_path / "gt"), "--paired"]) == 2
    assert "holds unpaired results" in capsys.readouterr().err


def test_gt_of_another_split_is_refused(tmp_path, capsys):
    results = _images(tmp_path / "out" / "results" / "m" / "test" / "unpaired", ["a__c.png"])[0].parent
    train = _images(tmp_path / "data" / "train" / "image", ["a.jpg"])[0].parent
    assert main(["evaluate", "--results", str(results), "--gt", str(train)]) == 2
    err = capsys.readouterr().err
    assert "is a train folder but the results are test renders" in err
    assert f"--gt {tmp_path / 'data' / 'test' / 'image'}" in err


def test_results_without_ground_truth(tmp_path):
    gt = tmp_path / "data" / "test" / "image"
    with pytest.raises(ConfigError, match="none of the 2 paired results has a ground-truth image"):
        checks.ground_truth_warnings(_rows(["x__y.png", "z__y.png"], [None, None]), "paired", gt)
    [warning] = checks.ground_truth_warnings(_rows(["a__b.png", "z__y.png"], ["/g/a.jpg", None]), "paired", gt)
    assert warning.startswith("1 of 2 paired results have no ground-truth image") and "z__y.png" in warning
    # Unpaired: no ground truth is needed, but GT naming few of the results' persons is suspect.
    [warning] = checks.ground_truth_warnings(_rows(["a__b.png", "y__b.png", "z__b.png"], ["/g/a.jpg", None, None]),
                                             "unpaired", gt)
    assert warning.startswith("only 1 of 3 results name a person of")
    assert checks.ground_truth_warnings(_rows(["a__b.png", "z__b.png"], ["/g/a.jpg", None]), "unpaired", gt) == []


def test_set_size_warnings():
    assert checks.set_size_warnings(2032, 2032, "GT") == []
    [size] = checks.set_size_warnings(2032, 11647, "person images in train/image")
    assert size.startswith("2032 results against 11647 person images") and "very different sizes" in size
    [small] = checks.set_size_warnings(400, 416, "GT")
    assert small.startswith("FID and KID on 400 images are biased")


def test_comparison_needs_shared_file_names(tmp_path, capsys):
    a = locate_results(_images(tmp_path / "a", ["p1__g1.png", "p2__g2.png"])[0].parent)
    b = locate_results(_images(tmp_path / "b", ["p1__g1.jpg", "p3__g3.png", "p4__g4.png"])[0].parent)
    [warning] = checks.comparison_warnings(a, b, 1)
    assert warning.startswith("1 file names are in both folders, 1 only in") and "2 only in" in warning
    assert checks.comparison_warnings(a, a, 2) == []
    c = _images(tmp_path / "c", ["q__r.png"])[0].parent
    assert main(["evaluate", "--results", str(a.path), "--against", str(c)]) == 2
    assert "share no file name" in capsys.readouterr().err


def test_evaluate_needs_gt_or_against_but_not_both(tmp_path, capsys):
    results = _images(tmp_path / "r", ["a.png"])[0].parent
    assert main(["evaluate", "--results", str(results)]) == 2
    assert "evaluate needs --gt DIR" in capsys.readouterr().err
    assert main(["evaluate", "--results", str(results), "--against", str(results), "--gt", str(results)]) == 2
    assert "leave out --gt and --paired" in capsys.readouterr().err


def test_tryon_settings_of_the_evaluated_results(tmp_path):
    out = tmp_path / "out"
    images = _images(out / "results" / "m" / "test" / "paired", ["a__a.png", "b__b.png", "c__c.png", "d__d.png"])
    rows = [{"pair_id": f"paired/{p.stem}", "status": status, "model_id": model, "stage_version": "2",
             "params": json.dumps({"steps": steps}), "result_path": f"results/m/test/paired/{p.name}"}
            for p, status, model, steps in zip(images, ["ok", "ok", "ok", "error"], ["m1", "m1", "m2", "m1"],
                                               [50, 50, 20, 50])]
    write_part(out, "tryon-m", pa.Table.from_pylist(rows), new_run_id(), 0)
    groups, warnings = tryon_settings(locate_results(images[0].parent))
    assert groups == [{"model_id": "m1", "stage_version": "2", "params": {"steps": 50}, "results": 2},
                      {"model_id": "m2", "stage_version": "2", "params": {"steps": 20}, "results": 1}]
    assert "rendered with 2 different models or try-on settings" in warnings[0]
    assert warnings[1].startswith("1 of 4 results") and "no ok row" in warnings[1] and "d__d.png" in warnings[1]
    assert tryon_settings(locate_results(_images(tmp_path / "plain", ["a.png"])[0].parent)) == ([], [])


def test_contact_sheet_shows_failed_then_worst_pairs():
    rows = [SheetRow("a", lpips=0.1, ssim=0.9), SheetRow("b", status="error", error="unreadable_image: x"),
            SheetRow("c", lpips=0.3, ssim=0.5), SheetRow("d", lpips=0.2, ssim=0.7)]
    shown, how = sheet_order(rows, 3)
    assert [r.pair_id for r in shown] == ["b", "c", "d"] and how == "failed rows first, then worst LPIPS first"
    by_ssim = [SheetRow("a", ssim=0.9), SheetRow("c", ssim=0.5), SheetRow("d", ssim=0.7)]
    assert [r.pair_id for r in sheet_order(by_ssim, 3)[0]] == ["c", "d", "a"]
    plain = [SheetRow(str(i)) for i in range(10)]
    shown, how = sheet_order(plain, 3)
    assert [r.pair_id for r in shown] == ["0", "4", "9"] and how == "spread evenly over the listing"


LOWER = ("checks", "features", "folders", "metrics", "protocol", "provenance", "report", "sheet")


@pytest.mark.parametrize("module", LOWER)
def test_lower_eval_modules_import_neither_stages_nor_pipeline(module):
    tree = ast.parse((PACKAGE / "eval" / f"{module}.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.startswith(("vtonpipe.stages", "vtonpipe.pipeline"))}


def test_a_missing_model_folder_is_the_only_message(tmp_path, capsys):
    """Model folders are checked before any warning about the images (here: a tiny set)."""
    results = _images(tmp_path / "out" / "results" / "catvton" / "test" / "paired", ["p1__p1.png"])[0].parent
    gt = _images(tmp_path / "data" / "test" / "image", ["p1.jpg"])[0].parent
    assert main(["evaluate", "--results", str(results), "--gt", str(gt), "--models-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist. Build it with" in err
