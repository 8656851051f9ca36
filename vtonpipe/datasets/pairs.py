"""Pairs files ("person cloth" per line) read defensively.

A pairs file is untrusted text: lines may be blank, duplicated, not UTF-8, or name paths outside
the dataset ("../x.jpg"). Every line becomes either a PairLine or a Problem with its reason;
nothing here raises for bad content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class PairLine:
    line_no: int
    person: str
    garment: str


@dataclass(frozen=True)
class Problem:
    source: str
    line_no: int
    error_type: str
    message: str


def safe_name(token: str) -> bool:
    """A bare file name: no directory parts, no traversal, nothing absolute."""
    return bool(token) and token not in (".", "..") and "/" not in token and "\\" not in token and not os.path.isabs(token)


def read_pairs_file(path: str | os.PathLike) -> tuple[list[PairLine], list[Problem]]:
    """Parse a pairs file into unique PairLines and Problems (bad, unsafe or duplicate lines)."""
    source = os.fspath(path)
    lines: list[PairLine] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    with open(path, "rb") as f:
        raw_lines = f.read().splitlines()
    for line_no, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            problems.append(Problem(source, line_no, "bad_pairs_line", f"line {line_no} is not valid UTF-8"))
            continue
        if not text or text.startswith("#"):
            continue
        tokens = text.split()
        if len(tokens) != 2:
            problems.append(
                Problem(source, line_no, "bad_pairs_line", f"line {line_no}: expected 'person cloth', got {text!r}")
            )
            continue
        person, garment = tokens[0], tokens[1]
        unsafe = [t for t in (person, garment) if not safe_name(t)]
        if unsafe:
            problems.append(
                Problem(source, line_no, "path_traversal", f"line {line_no}: rejected path {unsafe[0]!r} (bare file names only)")
            )
            continue
        if (person, garment) in seen:
            problems.append(
                Problem(source, line_no, "duplicate_pair",
                        f"line {line_no} repeats line {seen[(person, garment)]}: {person} {garment}")
            )
            continue
        seen[(person, garment)] = line_no
        lines.append(PairLine(line_no, person, garment))
    return lines, problems
