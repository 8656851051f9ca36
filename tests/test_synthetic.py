"""The synthetic VITON-HD-style demo dataset: layout, determinism and consistent ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from vtonpipe.datasets.images import load_labels, load_rgb
from vtonpipe.datasets.synthetic import (
    OFF_WHITE,
    WHITE,
    draw_garment,
    draw_person,
    write_synthetic_vitonhd,
)
from vtonpipe.labels.parsing import ATR_IDS as ATR
from vtonpipe.labels.parsing import CIHP_IDS as CIHP
from vtonpipe.labels.parsing import LIP_IDS as LIP

FOLDERS = ("image", "cloth", "cloth-mask", "image-parse-v3", "image-densepose",
           "gt-parse-lip", "gt-parse-atr", "gt-densepose-parts")  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_vitonhd(tmp_path_factory.mktemp("synth"), n_persons=5, n_garments=4, seed=3)


def test_layout_and_pairs(dataset):
    test = dataset / "test"
    for folder in FOLDERS:
        stems = sorted(p.stem for p in (test / folder).iterdir())
        n = 4 if folder in ("cloth", "cloth-mask") else 5
        assert stems == [f"{i:05d}_00" for i in range(n)], folder
    assert load_rgb(test / "image" / "00004_00.jpg").shape == (256, 192, 3)
    lines = (dataset / "test_pairs.txt").read_text().splitlines()
    assert lines == ["00000_00.jpg 00001_00.jpg", "00001_00.jpg 00002_00.jpg",
                     "00002_00.jpg 00003_00.jpg", "00003_00.jpg 00000_00.jpg"]  # fmt: skip


def test_deterministic_from_seed(dataset, tmp_path):
    again = write_synthetic_vitonhd(tmp_path / "a", n_persons=5, n_garments=4, seed=3)
    other = write_synthetic_vitonhd(tmp_path / "b", n_persons=2, n_garments=1, seed=4)
    for name in ("image/00001_00.jpg", "cloth/00000_00.jpg", "gt-parse-lip/00002_00.png"):
        assert (dataset / "test" / name).read_bytes() == (again / "test" / name).read_bytes()
    first = load_rgb(dataset / "test/image/00000_00.jpg")
    assert not np.array_equal(first, load_rgb(other / "test/image/00000_00.jpg"))


def test_label_maps_agree(dataset):
    test = dataset / "test"
    for i in range(5):
        stem = f"{i:05d}_00"
        lip = load_labels(test / "gt-parse-lip" / f"{stem}.png")
        atr = load_labels(test / "gt-parse-atr" / f"{stem}.png")
        cihp = load_labels(test / "image-parse-v3" / f"{stem}.png")
        dense = load_labels(test / "gt-densepose-parts" / f"{stem}.png")
        assert lip.max() < len(LIP) and atr.max() < len(ATR) and dense.max() <= 24
        assert np.all(atr[lip == LIP["Upper-clothes"]] == ATR["Upper-clothes"])
        assert np.all(atr[lip == LIP["Face"]] == ATR["Face"])
        neck = cihp == CIHP["Neck"]
        assert neck.any() and np.all(lip[neck] == 0) and np.all(atr[neck] == ATR["Face"])
        assert np.array_equal(cihp[~neck], lip[~neck])
        # Hands are DensePose hands and LIP arms (the person's right is the image's left).
        assert np.all(lip[dense == 3] == LIP["Right-arm"]) and np.all(lip[dense == 4] == LIP["Left-arm"])
        assert (dense[lip == LIP["Upper-clothes"]] == 2).mean() > 0.5


def test_cloth_masks_and_backgrounds(dataset):
    test = dataset / "test"
    for i in range(4):
        stem = f"{i:05d}_00"
        cloth = load_rgb(test / "cloth" / f"{stem}.jpg").astype(int)
        mask = load_labels(test / "cloth-mask" / f"{stem}.jpg") >= 128
        expected = WHITE if i % 2 == 0 else OFF_WHITE
        assert np.abs(cloth[~mask] - expected).mean() < 2
        assert 0.1 < mask.mean() < 0.6


def test_draw_functions_return_matching_ground_truth():
    rng = np.random.default_rng(0)
    person = draw_person(rng, 301, 222)
    assert person.image.shape == (301, 222, 3) and person.image.dtype == np.uint8
    for labels in (person.lip, person.atr, person.cihp, person.densepose):
        assert labels.shape == (301, 222) and labels.dtype == np.uint8
    garment = draw_garment(rng, 301, 222, background=OFF_WHITE, style=person.style)
    assert garment.style == person.style
    assert np.all(garment.image[~garment.mask] == OFF_WHITE)
    assert np.all(np.abs(garment.image[garment.mask].astype(int) - OFF_WHITE).max(axis=-1) > 30)


def test_demo_renders_every_model_at_the_dataset_aspect():
    """evaluate refuses results whose aspect differs from the ground truth's: every try-on model of
    the demo must render 4:3 like the synthetic VITON-HD persons."""
    from vtonpipe.demo import DEMO_HEIGHT, DEMO_MODELS, DEMO_WIDTH, TRYON_MODELS
    from vtonpipe.models.families import tiny_options

    for model in TRYON_MODELS:
        family, preset = DEMO_MODELS[model]
        size = {**tiny_options(family), **preset}
        assert size["height"] * DEMO_WIDTH == size["width"] * DEMO_HEIGHT, (model, size)
