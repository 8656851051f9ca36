"""`vtonpipe export`: place every selected file, write the pairs files, the name mapping and the
record, and word the summary (files per folder and how they got there, what was left out and why).

Photos that are not upright RGB JPEGs (a catalog's PNGs, EXIF-rotated phone shots) are re-encoded
as upright RGB JPEGs (quality 95): the layouts name every photo .jpg, and the upstream loaders
differ in whether they apply EXIF orientation. Everything else is linked or copied as it is.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from vtonpipe.datasets.images import load_rgb
from vtonpipe.errors import ConfigError, RowError
from vtonpipe.export.files import Placer
from vtonpipe.export.layouts import GARMENT, LAYOUTS, LINES, PAIRED, PERSON, UNPAIRED, Folder, Layout
from vtonpipe.export.selection import ExportPair, Item, LeftOut, Selection, select
from vtonpipe.manifests.layout import item_path

NAMES_FILE = "vtonpipe-names.tsv"
JPEG_QUALITY = 95
SHOWN = 10  # left-out lines printed per kind (all of them are in the record)


@dataclass
class ExportResult:
    to: Path
    layout: str
    splits: tuple[str, ...]
    method: str
    pairs: int
    persons: int
    garments: int
    counts: dict[str, Counter]  # folder or file -> outcome -> files
    lines: dict[str, int]  # pairs file -> lines
    left_out: list[LeftOut]
    notes: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    fallbacks: Counter = field(default_factory=Counter)
    record: Path | None = None

    @property
    def exit_code(self) -> int:
        """1 when nothing was exported or an existing different file was kept, else 0."""
        return 1 if self.conflicts or not self.pairs else 0


def _photo_folder(layout: Layout, kind: str) -> Folder:
    return next(f for f in layout.folders if f.kind == kind and f.stage is None)


def _jpeg(path: str) -> bytes:
    try:
        rgb = load_rgb(path)
    except RowError as exc:
        raise ConfigError(f"{exc.message} (it was readable at ingest: run `vtonpipe ingest` again)") from None
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _place_items(out: str, selection: Selection, placer: Placer) -> list[tuple[str, Item]]:
    """Every active folder's file of every exported person and garment; returns the photos placed."""
    sources: dict[str, str] = {}
    photos = []
    done: set[tuple[str, str, str]] = set()
    for pair in selection.pairs:
        for item in (pair.person, pair.garment):
            if (pair.container, item.kind, item.id) in done:
                continue
            done.add((pair.container, item.kind, item.id))
            for folder in selection.folders:
                if folder.kind != item.kind:
                    continue
                label = f"{pair.container}/{folder.name}"
                rel = f"{label}/{item.name}{folder.suffix}"
                source = item.image if folder.stage is None else os.path.join(
                    out, item_path(item.group, folder.source, item.stem, folder.source_suffix))
                if sources.setdefault(rel, source) != source:
                    raise RuntimeError(f"{rel} would hold both {sources[rel]} and {source}: two items share a name")
                if folder.stage is None:
                    photos.append((rel, item))
                    if item.convert:
                        placer.write(label, rel, _jpeg(source), "converted")
                        continue
                placer.link(label, rel, source)
    return photos


def _line(layout: Layout, person: Item, garment: Item) -> str:
    return (f"{person.name}{_photo_folder(layout, PERSON).suffix} "
            f"{garment.name}{_photo_folder(layout, GARMENT).suffix}\n")


def _pairs_lines(layout: Layout, pairs: list[ExportPair], rule: str) -> list[str]:
    if rule in (PAIRED, UNPAIRED):
        lines = {_line(layout, p.person, p.garment) for p in pairs if p.mode == rule}
    else:
        lines = {_line(layout, p.person, p.garment) for p in pairs if p.mode == UNPAIRED}
        with_unpaired = {p.person.id for p in pairs if p.mode == UNPAIRED}
        lines |= {_line(layout, p.person, p.person) for p in pairs
                  if p.mode == PAIRED and p.person.id not in with_unpaired}
    return sorted(lines)


def _write_pairs_files(selection: Selection, placer: Placer) -> dict[str, int]:
    layout = selection.layout
    written = {}
    for split in selection.splits:
        in_split = [p for p in selection.pairs if p.split == split]
        if layout.container == "split":
            places = {"": in_split}
        else:
            places = {c: [p for p in in_split if p.container == c] for c in layout.containers()}
        for container, pairs in places.items():
            for name, rule in layout.pairs_files[split]:
                rel = f"{container}/{name}" if container else name
                lines = _pairs_lines(layout, pairs, rule)
                placer.write(rel, rel, "".join(lines).encode(), "written")
                written[rel] = len(lines)
    return written


def _unpaired_persons(selection: Selection) -> int:
    """Persons in lines-rule pairs files whose implied paired garment (cloth/<person>) is not exported."""
    layout = selection.layout
    if not any(rule == LINES for files in layout.pairs_files.values() for _, rule in files):
        return 0
    garments = {(p.container, p.garment.name) for p in selection.pairs}
    return len({(p.container, p.person.id) for p in selection.pairs
                if (p.container, p.person.name) not in garments})


def export_dataset(out: str | os.PathLike, to: str | os.PathLike, layout: str, *, split: str | None = None,
                   link: str = "hard", overwrite: bool = False) -> ExportResult:
    """Export the ok rows of output folder `out` into dataset folder `to` in `layout`."""
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; layouts: {', '.join(LAYOUTS)}")
    out, root = os.path.abspath(out), Path(to).absolute()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--to {to} exists and is not a folder")
    placer = Placer(root, link, overwrite)
    selection = select(out, LAYOUTS[layout], split)
    photos = _place_items(out, selection, placer)
    lines = _write_pairs_files(selection, placer)
    if selection.renamed:
        mapping = sorted(f"{rel}\t{item.kind}\t{item.id}\t{item.image}\n" for rel, item in photos)
        placer.write(NAMES_FILE, NAMES_FILE, ("file\tkind\tid\tsource\n" + "".join(mapping)).encode(), "written")
        lines[NAMES_FILE] = len(mapping)
    result = ExportResult(
        to=root, layout=layout, splits=selection.splits, method=link, pairs=len(selection.pairs),
        persons=len({p.person.id for p in selection.pairs}), garments=len({p.garment.id for p in selection.pairs}),
        counts=dict(placer.counts), lines=lines, left_out=selection.left_out, updated=placer.updated,
        overwritten=placer.overwritten, conflicts=placer.conflicts, fallbacks=placer.fallbacks,
    )
    if selection.renamed:
        result.notes.append(f"items are not in the {layout} dataset: renamed, {NAMES_FILE} maps files to ids")
    unpaired = _unpaired_persons(selection)
    if unpaired:
        result.notes.append(f"{unpaired} person(s) have no paired garment in the export: paired mode (StableVITON "
                            f"without --unpair, CatVTON --eval_pair) and HR-VITON, which opens cloth/<person> for "
                            f"every line, cannot read their lines")
    result.record = placer.write_record({
        "out": out, "layout": layout, "splits": list(selection.splits), "link": link,
        "per_folder": {k: sum(v.values()) - v["conflict"] for k, v in sorted(placer.counts.items())},
        "left_out": [{"kind": x.kind, "id": x.id, "reason": x.reason} for x in selection.left_out],
    })
    return result


_PLURALS = {"hard link": "hard links", "symlink": "symlinks", "copy": "copies", "conflict": "conflicts"}


def _counts(counter: Counter) -> str:
    return ", ".join(f"{n} {_PLURALS.get(how, how) if n != 1 else how}" for how, n in sorted(counter.items()))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary_lines(result: ExportResult) -> list[str]:
    """What the export holds and left out, for the terminal."""
    lines = [f"export: {_plural(result.pairs, 'pair')}, {_plural(result.persons, 'person')}, "
             f"{_plural(result.garments, 'garment')} "
             f"({result.layout} layout, split {', '.join(result.splits)}, --link {result.method})"]
    width = max((len(k) for k in (*result.counts, *result.lines)), default=0)
    for label in sorted(result.counts):
        if label in result.lines:
            continue
        counter = result.counts[label]
        files = sum(counter.values()) - counter["conflict"]
        lines.append(f"  {label:<{width}}  {files:>6} files  ({_counts(counter)})")
    for rel, n in sorted(result.lines.items()):
        lines.append(f"  {rel:<{width}}  {n:>6} lines  ({', '.join(result.counts[rel])})")
    for reason, n in sorted(result.fallbacks.items()):
        lines.append(f"  {reason}: {n} files copied instead")
    by_kind = Counter(x.kind for x in result.left_out)
    if result.left_out:
        lines.append("left out: " + ", ".join(_plural(by_kind[k], k) for k in (PERSON, GARMENT, "pair") if by_kind[k]))
        for kind in (PERSON, GARMENT, "pair"):
            own = [x for x in result.left_out if x.kind == kind and x.because_of is None]
            for x in own[:SHOWN]:
                lines.append(f"  {kind} {x.id}: {x.reason}")
            if len(own) > SHOWN:
                lines.append(f"  ... {len(own) - SHOWN} more {kind}s")
        derived = [x.id for x in result.left_out if x.because_of is not None]
        if derived:
            lines.append(f"  {_plural(len(derived), 'pair')} because their person or garment is left out: "
                         + ", ".join(derived[:SHOWN]) + (", ..." if len(derived) > SHOWN else ""))
    for note in result.notes:
        lines.append(f"note: {note}")
    if result.updated:
        lines.append(f"updated {len(result.updated)} files an earlier export wrote (their source changed)")
    if result.overwritten:
        lines.append(f"overwrote {len(result.overwritten)} existing different files (--overwrite), e.g. "
                     f"{result.overwritten[0]}")
    if result.conflicts:
        lines.append(f"kept {len(result.conflicts)} existing files that differ from the export, e.g. "
                     f"{result.conflicts[0]}: move them away or pass --overwrite")
    if not result.pairs:
        lines.append("nothing exported: no pair is ready (see left out above)")
    lines.append(f"exported to {result.to} (record: {result.record.name})")
    return lines
