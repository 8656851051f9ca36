"""VITON-HD agnostic recipes against the upstream functions on drawn persons (pixel-identical
images, masks and parse agnostics), including missing joints, and the guards where upstream
draws garbage."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from openpose_upstream import upstream_file
from PIL import Image

from vtonpipe.datasets.synthetic import draw_person
from vtonpipe.errors import RowError
from vtonpipe.labels.parsing import CIHP_IDS, CIHP_PALETTE
from vtonpipe.labels.pose import COCO18_TO_BODY25
from vtonpipe.masks.annotations import atr_from_cihp, atr_with_neck, cihp_from_schp, lip_from_cihp
from vtonpipe.masks.ootd import ootd_agnostic, ootd_mask
from vtonpipe.masks.vitonhd import hrviton_agnostic, parse_agnostic, vitonhd_agnostic

# Joints of the synthetic figures (datasets/synthetic.py) in 1/256 of the height from the face
# centre: BODY_25 index -> (x offset, y); the figure's right side is on the image's left.
_FIGURE = {1: (0, 57), 2: (-26, 59), 3: (-33, 96), 4: (-37, 132), 5: (26, 59), 6: (33, 96), 7: (37, 132),
           9: (-12, 140), 10: (-13, 186), 11: (-14, 236), 12: (12, 140), 13: (13, 186), 14: (14, 236),
           0: (0, 36), 15: (-6, 28), 16: (6, 28), 17: (-12, 30), 18: (12, 30)}  # fmt: skip


def drawn_case(index: int, height: int = 1024, width: int = 768, missing: tuple[int, ...] = (), inward: float = 0):
    """(RGB person, CIHP parse, LIP, ATR, BODY_25 (25, 2) pose with `missing` joints at (0, 0) and
    elbows and wrists moved `inward` pixels towards the body, off the drawn arms)."""
    person = draw_person(np.random.default_rng([11, index]), height, width)
    face_x = np.nonzero(person.cihp == CIHP_IDS["Face"])[1].mean()
    s = height / 256
    pose = np.zeros((25, 2))
    for joint, (dx, y) in _FIGURE.items():
        pose[joint] = (face_x + dx * s, y * s)
    pose[[3, 4], 0] += inward
    pose[[6, 7], 0] -= inward
    pose[list(missing)] = 0
    return person.image, person.cihp, person.lip, person.atr, pose


def _p_mode(labels: np.ndarray) -> Image.Image:
    image = Image.fromarray(labels.astype(np.uint8))
    image.putpalette(CIHP_PALETTE)
    return image


CASES = [(0, (), 0), (1, (3,), 0), (2, (7,), 0), (3, (3, 4, 6, 7), 0), (4, (4,), 0), (5, (), 70)]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("upstream")
    with upstream_file("sangyun884/HR-VITON", "cp_dataset_test.py", tmp) as (hr, hr_commit), \
            upstream_file("sangyun884/HR-VITON", "get_parse_agnostic.py", tmp) as (gpa, _), \
            upstream_file("shadow2496/VITON-HD", "datasets.py", tmp) as (vh, vh_commit), \
            upstream_file("levihsu/OOTDiffusion", "run/utils_ootd.py", tmp) as (ootd, ootd_commit):
        print(f"HR-VITON {hr_commit}, VITON-HD {vh_commit}, OOTDiffusion {ootd_commit}")
        yield SimpleNamespace(hr=hr, gpa=gpa, vh=vh, ootd=ootd)


@pytest.mark.parametrize("index,missing,inward", CASES)
def test_hrviton_matches_upstream(upstream, index, missing, inward):
    image, cihp, _, _, pose = drawn_case(index, missing=missing, inward=inward)
    ours = hrviton_agnostic(image, cihp, pose)
    get_agnostic = upstream.hr.CPDatasetTest.get_agnostic
    ref = np.asarray(get_agnostic(None, Image.fromarray(image), _p_mode(cihp), pose.copy()))
    assert np.array_equal(ours.image, ref)
    black = np.asarray(get_agnostic(None, Image.fromarray(np.zeros_like(image)), _p_mode(cihp), pose.copy()))
    assert np.array_equal(ours.mask > 0, (black == 128).all(axis=2))
    assert set(np.unique(ours.mask)) <= {0, 255}
    ref_parse = np.asarray(upstream.gpa.get_im_parse_agnostic(_p_mode(cihp), pose.copy()))
    assert np.array_equal(ours.parse, ref_parse)


@pytest.mark.parametrize("index,missing,size", [(5, (), (1024, 768)), (6, (6,), (1024, 768)), (7, (3,), (512, 384))])
def test_vitonhd_matches_upstream(upstream, index, missing, size):
    image, cihp, _, _, pose = drawn_case(index, *size, missing=missing)
    ours = vitonhd_agnostic(image, cihp, pose)
    dataset = SimpleNamespace(load_height=size[0], load_width=size[1])
    cls = upstream.vh.VITONDataset
    ref_parse = np.asarray(cls.get_parse_agnostic(dataset, _p_mode(cihp), pose.copy()))
    ref = np.asarray(cls.get_img_agnostic(dataset, Image.fromarray(image), _p_mode(cihp), pose.copy()))
    black = np.asarray(cls.get_img_agnostic(dataset, Image.fromarray(np.zeros_like(image)), _p_mode(cihp), pose.copy()))
    assert np.array_equal(ours.parse, ref_parse)
    assert np.array_equal(ours.image, ref)
    assert np.array_equal(ours.mask > 0, (black == 128).all(axis=2))


def test_any_size_is_self_consistent():
    """HR-VITON's recipe at 512x384 (upstream only runs at 768x1024): gray exactly on the mask."""
    image, cihp, _, _, pose = drawn_case(8, 512, 384)
    out = hrviton_agnostic(image, cihp, pose)
    assert (out.image[out.mask > 0] == 128).all()
    assert np.array_equal(out.image[out.mask == 0], image[out.mask == 0])
    assert 0.1 < (out.mask > 0).mean() < 0.5
    assert np.array_equal(out.parse, parse_agnostic(cihp, pose))


def _demo_inputs(index: int, height: int, width: int, missing=()):
    image, cihp, lip, atr, pose = drawn_case(index, height, width, missing)
    coco512 = pose[list(COCO18_TO_BODY25)] * (512.0 / height)  # the demo wrapper's 384x512 frame
    return image, atr_with_neck(atr, lip), coco512


@pytest.mark.parametrize("category", ["upper_body", "lower_body", "dresses"])
@pytest.mark.parametrize("model_type,size", [("hd", (512, 384)), ("dc", (1024, 768))])
def test_ootd_matches_upstream(upstream, category, model_type, size):
    height, width = size
    for index, missing in ((9, ()), (10, (4,))):
        image, parse, coco512 = _demo_inputs(index, height, width, missing)
        mask, mask_gray = upstream.ootd.get_mask_location(model_type, category, Image.fromarray(parse),
                                                          {"pose_keypoints_2d": coco512.tolist()}, width, height)
        ours = ootd_agnostic(image, parse, np.multiply(coco512, height / 512.0), category, model_type)
        assert np.array_equal(ours.mask, np.asarray(mask))
        assert np.array_equal(ours.image, np.asarray(Image.composite(mask_gray, Image.fromarray(image), mask)))


def demo_mask(upstream, parse: np.ndarray, coco512: np.ndarray, category: str = "upper_body"):
    """Upstream get_mask_location('hd', category) at the parse's size (512-high keypoint frame)."""
    height, width = parse.shape
    return upstream.ootd.get_mask_location("hd", category, Image.fromarray(parse),
                                           {"pose_keypoints_2d": coco512.tolist()}, width, height)


def test_ootd_mask_resized_to_the_person(upstream):
    """OOTDiffusion: parse and pose at 384x512, mask resized NEAREST onto the 768x1024 person."""
    image, parse, coco512 = _demo_inputs(11, 512, 384)
    big = np.asarray(Image.fromarray(image).resize((768, 1024)))
    mask, mask_gray = demo_mask(upstream, parse, coco512)
    ref = Image.composite(mask_gray.resize((768, 1024), Image.NEAREST), Image.fromarray(big),
                          mask.resize((768, 1024), Image.NEAREST))
    assert np.array_equal(ootd_agnostic(big, parse, coco512).image, np.asarray(ref))


def test_ootd_guards(upstream):
    image, parse, coco512 = _demo_inputs(12, 512, 384)
    # A missing elbow with the wrist present: the arm's label is the band, as for a missing wrist.
    no_elbow, no_wrist = coco512.copy(), coco512.copy()
    no_elbow[3] = 0
    no_wrist[4] = 0
    ref, _ = demo_mask(upstream, parse, no_wrist)
    assert np.array_equal(ootd_mask(parse, no_elbow), np.asarray(ref))
    # A raised wrist whose 1.2x extension goes above the image: upstream's uint16 cast wraps it to
    # ~65 500 and the band runs down to the bottom edge; here the band stops at the image top.
    raised = coco512.copy()
    raised[3], raised[4] = (coco512[2, 0] - 30, 60), (coco512[2, 0] - 40, 4)
    ref, _ = demo_mask(upstream, parse, raised)
    ours = ootd_mask(parse, raised)
    assert np.asarray(ref)[-20:].any() and not ours[-20:].any()
    with pytest.raises(RowError, match="empty"):
        ootd_mask(np.zeros_like(parse), coco512, "lower_body")
    with pytest.raises(ValueError, match="category"):
        ootd_mask(parse, coco512, "shoes")


@pytest.mark.parametrize("missing,what",
                         [((9,), "RHip"), ((9, 12), "RHip, LHip"), ((1,), "Neck"), ((5,), "LShoulder")])
def test_vitonhd_guards(missing, what):
    image, cihp, _, _, pose = drawn_case(13, 512, 384, missing)
    for recipe in (hrviton_agnostic, vitonhd_agnostic):
        with pytest.raises(RowError, match=what) as err:
            recipe(image, cihp, pose)
        assert err.value.error_type == "pose_missing_joint"
    nan_pose = drawn_case(13, 512, 384)[4]
    nan_pose[9] = np.nan
    with pytest.raises(RowError) as err:
        hrviton_agnostic(image, cihp, nan_pose)
    assert err.value.error_type == "pose_invalid"
    assert parse_agnostic(cihp, pose).shape == cihp.shape  # needs no hips or neck


def test_cihp_from_schp_inverts_the_shipped_maps():
    _, cihp, lip, atr, _ = drawn_case(14, 512, 384)
    assert (cihp == CIHP_IDS["Neck"]).any()
    assert np.array_equal(cihp_from_schp(lip_from_cihp(cihp), atr_from_cihp(cihp)), cihp)
    jumpsuit = lip.copy()
    jumpsuit[lip == CIHP_IDS["Upper-clothes"]] = 10  # LIP Jumpsuits over the top: ATR says upper clothes
    top = lip == CIHP_IDS["Upper-clothes"]
    assert np.array_equal(cihp_from_schp(jumpsuit, atr)[top], cihp[top])
    neck = atr_with_neck(atr, lip)
    assert np.array_equal(neck == 18, (atr == 11) & (lip != 13))
