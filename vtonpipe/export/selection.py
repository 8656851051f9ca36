"""Which persons, garments and pairs an export holds, and why the others are left out.

A pair goes when its row is ok, its split is exported, and its person and garment are ready: their
ingest rows ok, their photo on disk, and for every active folder of the layout the producing
stage's row ok and its file present. A required folder whose stage never ran stops the export; an
optional folder is active when the output folder holds its source folder. In a layout whose paired
mode is implied (VITON-HD: cloth/<person>), a person's lines go only if its paired pair goes too
(when it has one), since paired mode opens that garment for every line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vtonpipe.errors import ConfigError
from vtonpipe.export.layouts import CATEGORY_OF, DEFAULT_SPLIT, GARMENT, LINES, PERSON, Folder, Layout
from vtonpipe.manifests.io import part_files, read_manifest
from vtonpipe.manifests.layout import item_path

KEYS = {PERSON: "person_id", GARMENT: "garment_id"}
MANIFESTS = {PERSON: "persons", GARMENT: "garments"}
_ITEM_COLUMNS = ["dataset", "group", "stem", "image", "format", "mode", "orientation", "status", "error_type",
                 "error_message"]
_PAIR_COLUMNS = ["mode", "split", "person_id", "garment_id", "status", "error_type", "error_message"]
_STATUS_COLUMNS = ["status", "error_type", "error_message"]


@dataclass(frozen=True)
class Item:
    """A person or garment that can be exported."""

    id: str
    kind: str
    group: str
    stem: str
    image: str
    convert: bool  # the photo is not an upright RGB JPEG: it is re-encoded, never linked
    name: str  # its name in the layout (file names add each folder's suffix)
    cloth_type: str | None


@dataclass(frozen=True, slots=True)
class ExportPair:
    pair_id: str
    split: str
    container: str
    mode: str
    person: Item
    garment: Item


@dataclass(frozen=True, slots=True)
class LeftOut:
    kind: str  # person, garment, pair
    id: str
    reason: str
    because_of: str | None = None  # a pair left out only because this person or garment is


@dataclass
class Selection:
    layout: Layout
    folders: tuple[Folder, ...]  # the active folders
    splits: tuple[str, ...]
    pairs: list[ExportPair]
    left_out: list[LeftOut]
    renamed: bool  # items were numbered (not in the layout's own dataset)


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def _columns(out: str, name: str, key: str, columns: list[str]) -> dict[str, list] | None:
    """A manifest's latest rows as column lists, sorted by key (None when it has no parts)."""
    table = read_manifest(out, name, columns=columns, key=key)
    return None if table is None else table.sort_by(key).to_pydict()


def _rows(out: str, name: str, key: str, columns: list[str]) -> dict[str, dict] | None:
    data = _columns(out, name, key, columns)
    if data is None:
        return None
    names = [c for c in data if c != key]
    return {k: {c: data[c][i] for c in names} for i, k in enumerate(data[key])}


def load_manifests(out: str) -> tuple[dict[str, dict], dict[str, dict], dict[str, list]]:
    """persons and garments rows by key, pairs as columns; ConfigError when ingest has not written them."""
    found = {
        "persons": _rows(out, "persons", "person_id", _ITEM_COLUMNS + ["cloth_type"]),
        "garments": _rows(out, "garments", "garment_id", _ITEM_COLUMNS),
        "pairs": _columns(out, "pairs", "pair_id", _PAIR_COLUMNS),
    }
    missing = [name for name, rows in found.items() if rows is None]
    if missing:
        raise ConfigError(f"{out} has no {', '.join(missing)} manifest ({os.path.join(out, 'manifests', missing[0])} "
                          f"is empty or absent): run `vtonpipe ingest ... --out {out}` first")
    return found["persons"], found["garments"], found["pairs"]


def active_folders(out: str, layout: Layout, groups: set[str]) -> tuple[Folder, ...]:
    """The layout's required folders and the optional ones whose source folder the output holds."""
    active = []
    for folder in layout.folders:
        if folder.required:
            if folder.stage and not part_files(out, folder.stage):
                raise ConfigError(f"{folder.name}/ of the {layout.name} layout comes from the {folder.stage} stage, "
                                  f"which has not run on {out}: run `vtonpipe {folder.stage} --out {out}` first")
            active.append(folder)
        elif any(os.path.isdir(os.path.join(out, g, folder.source)) for g in groups):
            active.append(folder)
    return tuple(active)


def _names(layout: Layout, persons: dict, garments: dict, pairs: dict[str, list]) -> tuple[dict, dict, bool]:
    """Layout names of every person and garment id, and whether they were renamed."""
    if all(r["dataset"] == layout.name for r in (*persons.values(), *garments.values())):
        return ({k: layout.native_name(PERSON, r["stem"]) for k, r in persons.items()},
                {k: layout.native_name(GARMENT, r["stem"]) for k, r in garments.items()}, False)
    person_names = {k: layout.number.format(n) for n, k in enumerate(sorted(persons))}
    paired: dict[str, str] = {}
    for mode, person_id, garment_id in zip(pairs["mode"], pairs["person_id"], pairs["garment_id"]):
        if mode == "paired" and person_id in person_names:
            paired.setdefault(garment_id, person_names[person_id])
    garment_names = {k: paired.get(k, layout.number.format(len(persons) + n)) for n, k in enumerate(sorted(garments))}
    return person_names, garment_names, True


class _Readiness:
    """Per item: None when it can be exported, else the reason it cannot (computed once per item)."""

    def __init__(self, out: str, folders: tuple[Folder, ...]):
        self.out = out
        self.folders = folders
        self.stages: dict[tuple[str, str], dict | None] = {}
        self.reasons: dict[tuple[str, str], str | None] = {}

    def _stage(self, stage: str, kind: str) -> dict | None:
        if (stage, kind) not in self.stages:
            self.stages[stage, kind] = _rows(self.out, stage, KEYS[kind], _STATUS_COLUMNS)
        return self.stages[stage, kind]

    def reason(self, kind: str, key: str, row: dict | None) -> str | None:
        if (kind, key) not in self.reasons:
            self.reasons[kind, key] = self._check(kind, key, row)
        return self.reasons[kind, key]

    def _check(self, kind: str, key: str, row: dict | None) -> str | None:
        if row is None:
            return f"not in the {MANIFESTS[kind]} manifest"
        if row["status"] != "ok":
            return f"ingest {row['status']}: {row['error_type']}: {_first_line(row['error_message'])}"
        if not os.path.isfile(row["image"]):
            return f"photo {row['image']} is missing"
        for folder in self.folders:
            if folder.kind != kind or folder.stage is None:
                continue
            stage_row = (self._stage(folder.stage, kind) or {}).get(key)
            if stage_row is None:
                return f"{folder.stage} has no row for it (not processed yet)"
            if stage_row["status"] != "ok":
                return (f"{folder.stage} {stage_row['status']}: {stage_row['error_type']}: "
                        f"{_first_line(stage_row['error_message'])}")
            rel = item_path(row["group"], folder.source, row["stem"], folder.source_suffix)
            if not os.path.isfile(os.path.join(self.out, rel)):
                return f"{folder.stage} row is ok but its output {rel} is missing"
        return None


def _needs_conversion(row: dict) -> bool:
    return row["format"] != "JPEG" or row["mode"] != "RGB" or (row["orientation"] or 1) != 1


def select(out: str, layout: Layout, split: str | None) -> Selection:
    """What an export of `out` in `layout` holds (all splits, or only `split`)."""
    persons, garments, pairs = load_manifests(out)
    # Rows of rejected pairs-file lines have no mode and belong to no split.
    splits_of = [(s or DEFAULT_SPLIT) if m is not None else None for s, m in zip(pairs["split"], pairs["mode"])]
    present = sorted({s for s in splits_of if s is not None})
    if split is not None and split not in present:
        raise ConfigError(f"--split {split}: {out} holds pairs of {', '.join(present) or 'no split'} only")
    splits = (split,) if split is not None else tuple(present)
    unknown = [s for s in splits if s not in layout.pairs_files]
    if unknown:
        raise ConfigError(f"split {unknown[0]!r} has no pairs file in the {layout.name} layout "
                          f"(splits: {', '.join(layout.pairs_files)})")
    groups = {r["group"] for r in (*persons.values(), *garments.values())}
    folders = active_folders(out, layout, groups)
    person_names, garment_names, renamed = _names(layout, persons, garments, pairs)
    ready = _Readiness(out, folders)
    rows = {PERSON: persons, GARMENT: garments}
    names = {PERSON: person_names, GARMENT: garment_names}
    items: dict[tuple[str, str], Item] = {}

    def item(kind: str, key: str) -> Item:
        if (kind, key) not in items:
            row = rows[kind][key]
            items[kind, key] = Item(key, kind, row["group"], row["stem"], row["image"], _needs_conversion(row),
                                    names[kind][key], row.get("cloth_type"))
        return items[kind, key]

    left_out: list[LeftOut] = []
    reported: set[tuple[str, str]] = set()
    candidates: list[ExportPair] = []
    for i, pair_id in enumerate(pairs["pair_id"]):
        pair_split = splits_of[i]
        if split is not None and pair_split != split:
            continue
        if pairs["status"][i] != "ok":
            left_out.append(LeftOut("pair", pair_id, f"ingest {pairs['status'][i]}: {pairs['error_type'][i]}: "
                                                     f"{_first_line(pairs['error_message'][i])}"))
            continue
        blocked = None
        for kind, key in ((PERSON, pairs["person_id"][i]), (GARMENT, pairs["garment_id"][i])):
            why = ready.reason(kind, key, rows[kind].get(key))
            if why is not None:
                if (kind, key) not in reported:
                    reported.add((kind, key))
                    left_out.append(LeftOut(kind, key, why))
                blocked = blocked or f"{kind} {key}"
        if blocked:
            left_out.append(LeftOut("pair", pair_id, f"{blocked} is left out", because_of=blocked))
            continue
        person = item(PERSON, pairs["person_id"][i])
        container = pair_split if layout.container == "split" else CATEGORY_OF.get(person.cloth_type or "")
        if container is None:
            left_out.append(LeftOut("pair", pair_id, f"cloth type {person.cloth_type!r} has no DressCode category"))
            continue
        candidates.append(ExportPair(pair_id, pair_split, container, pairs["mode"][i], person,
                                     item(GARMENT, pairs["garment_id"][i])))
    exported = _with_paired_pairs(layout, pairs, splits_of, candidates, left_out)
    return Selection(layout, folders, splits, exported, left_out, renamed)


def _with_paired_pairs(layout: Layout, pairs: dict[str, list], splits_of: list[str | None],
                       candidates: list[ExportPair], left_out: list[LeftOut]) -> list[ExportPair]:
    """Drop unpaired pairs whose person's paired pair is left out, where paired mode is implied."""
    if not any(rule == LINES for files in layout.pairs_files.values() for _, rule in files):
        return candidates
    going = {p.pair_id for p in candidates}
    paired_of: dict[tuple[str | None, str], str] = {}
    for pair_id, mode, person_id, pair_split in zip(pairs["pair_id"], pairs["mode"], pairs["person_id"], splits_of):
        if mode == "paired":
            paired_of.setdefault((pair_split, person_id), pair_id)
    kept = []
    for pair in candidates:
        paired = paired_of.get((pair.split, pair.person.id))
        if pair.mode == "unpaired" and paired is not None and paired not in going:
            left_out.append(LeftOut("pair", pair.pair_id, f"its person's paired pair {paired} is left out "
                                                          f"(paired mode opens that garment for every line)"))
            continue
        kept.append(pair)
    return kept
