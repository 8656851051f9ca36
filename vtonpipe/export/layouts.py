"""The dataset layouts `vtonpipe export` writes: one table of folders per layout, file names, pairs files.

VITON-HD (opened by StableVITON's VITONHDDataset, CatVTON's VITONHDTestDataset, HR-VITON's
CPDatasetTest)::

    <to>/test_pairs.txt, test_pairs_unpaired.txt   "<person>.jpg <cloth>.jpg"; paired mode opens cloth/<person>.jpg
    <to>/train_pairs.txt
    <to>/<split>/image/<id>.jpg  cloth/<id>.jpg  cloth-mask/<id>.jpg  agnostic-v3.2/<id>.jpg
                 agnostic-mask/<id>_mask.png  image-densepose/<id>.jpg  (+ parse and pose folders)

DressCode (opened by CatVTON's DressCodeTestDataset, which requires all three category folders)::

    <to>/<category>/test_pairs_paired.txt, test_pairs_unpaired.txt, train_pairs.txt  "<id>_0.jpg <id>_1.jpg"
    <to>/<category>/images/<id>_0.jpg (person), <id>_1.jpg (garment)  agnostic_masks/<id>_0.png
                    agnostic-v3.2/<id>_0.jpg  (+ image-densepose/<id>_0.jpg, dense/<id>_5.png,
                    label_maps/<id>_4.png, cloth-mask/<id>_1.jpg when the stages wrote them)

Items keep their dataset names when the data is in the layout's own dataset; otherwise (a catalog,
the other dataset) they are numbered in id order, a person's paired garment taking the person's
number, as the layout's paired mode expects.
"""

from __future__ import annotations

from dataclasses import dataclass

from vtonpipe.datasets.layouts import DRESSCODE_CATEGORIES

PERSON, GARMENT = "person", "garment"
# Pairs-file line rules: "lines" = one line per unpaired pair, "<p> <p>" for a person with only a
# paired pair (VITON-HD: the paired garment is implied); "paired"/"unpaired" = that mode's pairs.
LINES, PAIRED, UNPAIRED = "lines", "paired", "unpaired"
# Pairs without a split (a catalog's) are exported as this split: the one inference loaders read.
DEFAULT_SPLIT = "test"


@dataclass(frozen=True)
class Folder:
    """One folder of a layout: the file it holds per person or garment and where that file comes from.

    File name: the item's layout name + ``suffix``. ``stage`` None: the dataset photo (the manifest's
    image path). Otherwise the file the stage wrote at <out>/<group>/<source>/<stem><source_suffix>,
    exported for items whose row in that stage's manifest is ok. ``required`` False: exported only
    when the output folder holds ``source`` (folders other stages add).
    """

    name: str
    kind: str
    suffix: str
    stage: str | None = None
    source: str = ""
    source_suffix: str = ""
    required: bool = True


@dataclass(frozen=True)
class Layout:
    """A dataset layout: its folders, what the folder above them is, its pairs files and naming.

    ``container``: "split" (VITON-HD: <to>/<split>/) or "category" (DressCode: <to>/<category>/).
    ``pairs_files``: split -> (file name, line rule) written at <to> (split) or in each category.
    ``native_strip``: what a dataset's own stem ends with beyond the layout name, per kind.
    ``number``: the layout name of renamed item number n.
    """

    name: str
    container: str
    folders: tuple[Folder, ...]
    pairs_files: dict[str, tuple[tuple[str, str], ...]]
    native_strip: dict[str, str]
    number: str

    def native_name(self, kind: str, stem: str) -> str:
        strip = self.native_strip[kind]
        return stem[: len(stem) - len(strip)] if strip and stem.endswith(strip) else stem

    def containers(self) -> tuple[str, ...]:
        """Containers written even when empty (CatVTON asserts every DressCode category exists)."""
        return tuple(DRESSCODE_CATEGORIES) if self.container == "category" else ()


VITONHD = Layout(
    name="vitonhd",
    container="split",
    folders=(
        Folder("image", PERSON, ".jpg"),
        Folder("cloth", GARMENT, ".jpg"),
        Folder("cloth-mask", GARMENT, ".jpg", "cloth-mask", "cloth-mask", ".jpg"),
        Folder("agnostic-v3.2", PERSON, ".jpg", "masks", "agnostic-v3.2", ".jpg"),
        Folder("agnostic-mask", PERSON, "_mask.png", "masks", "agnostic-mask", "_mask.png"),
        Folder("image-densepose", PERSON, ".jpg", "densepose", "image-densepose", ".jpg"),
        Folder("image-parse-v3", PERSON, ".png", "parse", "image-parse-v3", ".png", required=False),
        Folder("image-parse-agnostic-v3.2", PERSON, ".png", "masks", "image-parse-agnostic-v3.2", ".png",
               required=False),
        Folder("openpose_json", PERSON, "_keypoints.json", "pose", "openpose_json", "_keypoints.json",
               required=False),
        Folder("openpose_img", PERSON, "_rendered.png", "pose", "openpose_img", "_rendered.png", required=False),
    ),
    pairs_files={
        "test": (("test_pairs.txt", LINES), ("test_pairs_unpaired.txt", LINES)),
        "train": (("train_pairs.txt", LINES),),
    },
    native_strip={PERSON: "", GARMENT: ""},
    number="{:05d}_00",
)

DRESSCODE = Layout(
    name="dresscode",
    container="category",
    folders=(
        Folder("images", PERSON, "_0.jpg"),
        Folder("images", GARMENT, "_1.jpg"),
        Folder("agnostic_masks", PERSON, "_0.png", "masks", "agnostic-mask", "_mask.png"),
        Folder("agnostic-v3.2", PERSON, "_0.jpg", "masks", "agnostic-v3.2", ".jpg"),
        Folder("image-densepose", PERSON, "_0.jpg", "densepose", "image-densepose", ".jpg", required=False),
        Folder("dense", PERSON, "_5.png", "densepose", "densepose-parts", ".png", required=False),
        Folder("label_maps", PERSON, "_4.png", "parse", "image-parse-atr", ".png", required=False),
        Folder("cloth-mask", GARMENT, "_1.jpg", "cloth-mask", "cloth-mask", ".jpg", required=False),
    ),
    pairs_files={
        "test": (("test_pairs_paired.txt", PAIRED), ("test_pairs_unpaired.txt", UNPAIRED)),
        "train": (("train_pairs.txt", PAIRED),),
    },
    native_strip={PERSON: "_0", GARMENT: "_1"},
    number="{:06d}",
)

LAYOUTS = {layout.name: layout for layout in (VITONHD, DRESSCODE)}
# cloth type -> DressCode category folder
CATEGORY_OF = {cloth_type: category for category, cloth_type in DRESSCODE_CATEGORIES.items()}
