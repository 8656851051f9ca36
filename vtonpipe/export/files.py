"""Placing export files: links or copies of existing files, and written bytes (re-encoded photos,
pairs files), each put in place atomically (a temp name beside the target, then os.replace).

A target that already holds the same content is left as it is, so a re-export changes nothing. A
target holding something else is replaced only when an earlier export wrote it (the record file
lists what exports wrote) or with ``overwrite``; otherwise it is kept and counted as a conflict.
Hard links and symlinks fall back to copies where the file system refuses them, with the reason.
"""

from __future__ import annotations

import errno
import filecmp
import json
import os
import secrets
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.errors import ConfigError

RECORD = "vtonpipe-export.json"
METHODS = ("hard", "symlink", "copy")
# errnos meaning "this file system (or this pair of file systems) does not do that link": copy instead
_REFUSED = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


def read_record(root: Path) -> dict:
    """The record an earlier export left in `root` ({} when there is none)."""
    path = root / RECORD
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict) or not isinstance(record.get("files", []), list):
            raise ValueError("not an object with a files list")
        return record
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{path} is not a vtonpipe export record ({exc}); move it away") from None


def _same_file(target: Path, source: str) -> bool:
    try:
        return os.path.samefile(target, source) or (
            os.path.getsize(target) == os.path.getsize(source) and filecmp.cmp(target, source, shallow=False))
    except OSError:  # a dangling symlink, an unreadable file: not the same
        return False


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


class Placer:
    """Puts files under `root` and counts, per label (a folder of the layout), how each got there."""

    def __init__(self, root: Path, method: str, overwrite: bool):
        if method not in METHODS:
            raise ConfigError(f"--link {method!r}: choose from {', '.join(METHODS)}")
        self.root = root
        self.method = method
        self.overwrite = overwrite
        self.owned = set(read_record(root).get("files", []))
        self.files: set[str] = set()  # what this export holds (placed now or already there)
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.updated: list[str] = []  # replaced files an earlier export wrote
        self.overwritten: list[str] = []  # replaced other files (--overwrite)
        self.conflicts: list[str] = []  # different files kept
        self.fallbacks: Counter = Counter()  # "hard links refused (reason)" -> files copied instead

    def link(self, label: str, rel: str, source: str) -> None:
        """Put `source` at `rel` by the chosen method (copy where the file system refuses it)."""
        self._place(label, rel, lambda target: _same_file(target, source), lambda tmp: self._link(source, tmp))

    def write(self, label: str, rel: str, data: bytes, how: str) -> None:
        """Put `data` at `rel`; `how` names it in the counts (e.g. "converted")."""
        def make(tmp: Path) -> str:
            tmp.write_bytes(data)
            return how
        self._place(label, rel, lambda target: _same_bytes(target, data), make)

    def write_record(self, record: dict) -> Path:
        """The record of this export: `record` plus every file exports have written here."""
        path = self.root / RECORD
        files = sorted(self.owned | self.files)
        atomic_write_bytes(path, json.dumps({**record, "files": files}, indent=1).encode() + b"\n")
        return path

    def _link(self, source: str, tmp: Path) -> str:
        try:
            if self.method == "hard":
                os.link(source, tmp)
                return "hard link"
            if self.method == "symlink":
                os.symlink(os.path.abspath(source), tmp)
                return "symlink"
        except OSError as exc:
            if exc.errno not in _REFUSED:
                raise
            self.fallbacks[f"{self.method} links refused ({exc.strerror})"] += 1
        shutil.copyfile(source, tmp)
        return "copy"

    def _place(self, label: str, rel: str, same: Callable[[Path], bool], make: Callable[[Path], str]) -> None:
        target = self.root / rel
        if os.path.lexists(target):
            if same(target):
                self.counts[label]["unchanged"] += 1
                self.files.add(rel)
                return
            if rel in self.owned:
                self.updated.append(rel)
            elif self.overwrite:
                self.overwritten.append(rel)
            else:
                self.conflicts.append(rel)
                self.counts[label]["conflict"] += 1
                return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            how = make(tmp)
            os.replace(tmp, target)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
        self.counts[label][how] += 1
        self.files.add(rel)
