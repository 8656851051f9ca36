"""Dataset layouts on disk -> the persons, garments and pair lines they hold.

Three layouts (facts: shared/reference/stableviton-and-preprocessing.md §2):

- VITON-HD: <root>/{train,test}/image|cloth|image-parse-v3|image-densepose|agnostic-mask|cloth-mask|openpose_json,
  <root>/{train,test}_pairs.txt ("person cloth"). Paired = the person's own garment (same file
  name in cloth/); unpaired = column 2 when it differs.
- DressCode: <root>/{upper_body,lower_body,dresses}/images/<id>_0.jpg (person), <id>_1.jpg
  (garment), label_maps/<id>_4.png, dense/<id>_5.png, agnostic_masks/<id>_0.png, and per category
  train_pairs.txt, test_pairs_paired.txt, test_pairs_unpaired.txt.
- Flat catalog: every image in --persons with every image in --garments (pairs made by ingest).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vtonpipe.datasets.pairs import Problem, read_pairs_file
from vtonpipe.errors import ConfigError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
VITONHD_SPLITS = ("train", "test")
PAIR_MODES = ("paired", "unpaired")
DRESSCODE_CATEGORIES = {"upper_body": "upper", "lower_body": "lower", "dresses": "overall"}
CLOTH_TYPES = ("upper", "lower", "overall")


@dataclass
class Item:
    """One person or garment image found on disk."""

    dataset: str
    group: str
    split: str
    file_name: str  # may hold surrogate escapes when the name is not valid UTF-8
    path: str
    cloth_type: str
    annotations: dict[str, str | None] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return Path(self.file_name).stem

    @property
    def key(self) -> str:
        return f"{self.group}/{self.stem}"


@dataclass
class PairSpec:
    """A pair named by a pairs file: person and garment file names within their groups."""

    mode: str
    split: str
    person_group: str
    person_file: str
    garment_group: str
    garment_file: str
    source: str


@dataclass
class Scan:
    persons: list[Item]
    garments: list[Item]
    pairs: list[PairSpec]
    problems: list[Problem]
    cross_product: bool = False  # catalog: every person with every garment


def parse_choices(text: str, allowed: tuple[str, ...], flag: str) -> tuple[str, ...]:
    """A comma-separated flag value checked against `allowed` (ConfigError naming the bad value)."""
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ConfigError(f"{flag} {text!r}: {'unknown value ' + repr(bad[0]) if bad else 'empty'}; "
                          f"choose from {', '.join(allowed)}")
    return values


def _images(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(n for n in os.listdir(folder) if Path(n).suffix.lower() in IMAGE_EXTENSIONS and (folder / n).is_file())


def _existing(path: Path) -> str | None:
    return str(path) if path.is_file() else None


def _pairs_from_file(path: Path, split: str, group: str, modes: tuple[str, ...], fixed_mode: str | None,
                     pairs: list[PairSpec], problems: list[Problem]) -> None:
    lines, bad = read_pairs_file(path)
    problems.extend(bad)
    for line in lines:
        source = f"{path.name}:{line.line_no}"
        if fixed_mode is not None:
            if fixed_mode in modes:
                pairs.append(PairSpec(fixed_mode, split, group, line.person, group, line.garment, source))
            continue
        if "paired" in modes:
            pairs.append(PairSpec("paired", split, group, line.person, group, line.person, source))
        if "unpaired" in modes and line.garment != line.person:
            pairs.append(PairSpec("unpaired", split, group, line.person, group, line.garment, source))


def _dedupe(pairs: list[PairSpec], problems: list[Problem]) -> list[PairSpec]:
    seen: dict[tuple, str] = {}
    unique = []
    for p in pairs:
        k = (p.mode, p.person_group, p.person_file, p.garment_group, p.garment_file)
        if k in seen:
            problems.append(Problem(p.source, 0, "duplicate_pair", f"{p.source} repeats {seen[k]}"))
            continue
        seen[k] = p.source
        unique.append(p)
    return unique


def scan_vitonhd(root: str | os.PathLike, splits: tuple[str, ...] = VITONHD_SPLITS,
                 modes: tuple[str, ...] = ("paired", "unpaired")) -> Scan:
    root = Path(root).absolute()  # rows hold absolute paths: actors may run elsewhere
    persons, garments, pairs, problems = [], [], [], []
    found = False
    for split in splits:
        d = root / split
        if not (d / "image").is_dir():
            continue
        found = True
        for name in _images(d / "image"):
            stem = Path(name).stem
            persons.append(Item("vitonhd", split, split, name, str(d / "image" / name), "upper", {
                "ann_parse": _existing(d / "image-parse-v3" / f"{stem}.png"),
                "ann_densepose": _existing(d / "image-densepose" / f"{stem}.jpg"),
                "ann_agnostic_mask": _existing(d / "agnostic-mask" / f"{stem}_mask.png"),
                "ann_agnostic": _existing(d / "agnostic-v3.2" / f"{stem}.jpg"),
                "ann_pose": _existing(d / "openpose_json" / f"{stem}_keypoints.json"),
            }))
        for name in _images(d / "cloth"):
            stem = Path(name).stem
            garments.append(Item("vitonhd", split, split, name, str(d / "cloth" / name), "upper", {
                "ann_cloth_mask": _existing(d / "cloth-mask" / f"{stem}.jpg"),
            }))
        pairs_file = root / f"{split}_pairs.txt"
        if pairs_file.is_file():
            _pairs_from_file(pairs_file, split, split, modes, None, pairs, problems)
    if not found:
        raise ConfigError(f"{root} is not a VITON-HD folder: expected {root}/test/image/ or {root}/train/image/")
    return Scan(persons, garments, _dedupe(pairs, problems), problems)


def scan_dresscode(root: str | os.PathLike, modes: tuple[str, ...] = ("paired", "unpaired")) -> Scan:
    root = Path(root).absolute()  # rows hold absolute paths: actors may run elsewhere
    persons, garments, pairs, problems = [], [], [], []
    found = False
    for category, cloth_type in DRESSCODE_CATEGORIES.items():
        d = root / category
        if not (d / "images").is_dir():
            continue
        found = True
        for name in _images(d / "images"):
            stem = Path(name).stem
            base = stem.rsplit("_", 1)[0]
            if stem.endswith("_0"):
                persons.append(Item("dresscode", category, "", name, str(d / "images" / name), cloth_type, {
                    "ann_parse": _existing(d / "label_maps" / f"{base}_4.png"),
                    "ann_densepose": _existing(d / "dense" / f"{base}_5.png"),
                    "ann_agnostic_mask": _existing(d / "agnostic_masks" / f"{stem}.png"),
                    "ann_agnostic": None,
                    "ann_pose": None,
                }))
            elif stem.endswith("_1"):
                garments.append(Item("dresscode", category, "", name, str(d / "images" / name), cloth_type, {
                    "ann_cloth_mask": None,
                }))
        for file_name, split, mode in (("train_pairs.txt", "train", "paired"),
                                       ("test_pairs_paired.txt", "test", "paired"),
                                       ("test_pairs_unpaired.txt", "test", "unpaired")):
            if (d / file_name).is_file():
                _pairs_from_file(d / file_name, split, category, modes, mode, pairs, problems)
    # DressCode names the split only in its pairs files: a person takes the split of its pairs.
    split_of = {(p.person_group, p.person_file): p.split for p in pairs}
    for person in persons:
        person.split = split_of.get((person.group, person.file_name), "")
    if not found:
        raise ConfigError(f"{root} is not a DressCode folder: expected {root}/upper_body/images/ (or lower_body, dresses)")
    return Scan(persons, garments, _dedupe(pairs, problems), problems)


def scan_catalog(persons_dir: str | os.PathLike, garments_dir: str | os.PathLike, category: str) -> Scan:
    if category not in CLOTH_TYPES:
        raise ConfigError(f"--category must be one of {', '.join(CLOTH_TYPES)}, got {category!r}")
    for label, d in (("--persons", persons_dir), ("--garments", garments_dir)):
        if not Path(d).is_dir():
            raise ConfigError(f"{label} {d} is not a folder")
    persons_dir, garments_dir = Path(persons_dir).absolute(), Path(garments_dir).absolute()
    persons = [Item("catalog", "catalog", "", n, str(persons_dir / n), category,
                    {"ann_parse": None, "ann_densepose": None, "ann_agnostic_mask": None, "ann_agnostic": None,
                     "ann_pose": None})
               for n in _images(persons_dir)]
    garments = [Item("catalog", "catalog", "", n, str(garments_dir / n), category, {"ann_cloth_mask": None})
                for n in _images(garments_dir)]
    return Scan(persons, garments, [], [], cross_product=True)
