"""Which results folder is evaluated, and where its evaluation is written.

A vtonpipe results folder is ``<root>/results/<model>/<split>/<mode>``: one model, one split,
one mode, and ``<root>`` the output folder whose manifests describe it. Its evaluation goes to
``<out>/eval/<model>/<split>/<mode>/``. Any other folder is evaluated as a whole (recursively)
and its evaluation goes to ``<out>/eval/<name>/<mode>/``, ``<name>`` being the folder's path
(relative to ``<out>`` when inside it) with every character outside ``[A-Za-z0-9._-]`` made
``-``. A comparison of folder A against folder B goes to ``against/<B's name>/`` under
``<out>/eval/<model>/<split>/<mode>/`` (A in vtonpipe's layout) or ``<out>/eval/<A's name>/``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vtonpipe.datasets.layouts import PAIR_MODES
from vtonpipe.errors import ConfigError
from vtonpipe.eval.protocol import list_images

EVAL_DIR = "eval"
MAX_NAME = 80


@dataclass(frozen=True)
class ResultsFolder:
    """A folder of results; `root`, `model`, `split` and `mode` are known for vtonpipe's layout."""

    path: Path
    images: tuple[Path, ...]
    root: Path | None = None
    model: str | None = None
    split: str | None = None
    mode: str | None = None


def _absolute(path: str | os.PathLike) -> Path:
    """Absolute and normalised ("a/b/.." is "a"), symlinks kept."""
    return Path(os.path.abspath(path))


def safe_name(text: str) -> str:
    """`text` with runs of characters outside [A-Za-z0-9._-] made one '-'; a long one keeps its
    tail and a hash of the whole."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "results"
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        name = f"{digest}-{name[-(MAX_NAME - 9):].lstrip('-.')}"
    return name


def _mode_folders(folder: Path, images: list[Path]) -> list[str]:
    """Subfolders of `folder` (relative, up to a paired/unpaired component) that hold images."""
    found = set()
    for image in images:
        parts = image.relative_to(folder).parts[:-1]
        for i, part in enumerate(parts):
            if part in PAIR_MODES:
                found.add("/".join(parts[: i + 1]))
                break
    return sorted(found)


def locate_results(path: str | os.PathLike) -> ResultsFolder:
    """The results folder at `path`, refused when it holds several splits or modes.

    A folder above vtonpipe's ``<split>/<mode>`` level (``results/catvton``) would mix train with
    test renders, or paired with unpaired ones, into one FID: ConfigError naming the folders to
    pass instead.
    """
    folder = _absolute(path)
    images = list_images(folder)
    below = _mode_folders(folder, images)
    if below:
        shown = ", ".join(below[:4]) + (f" and {len(below) - 4} more" if len(below) > 4 else "")
        raise ConfigError(f"--results {folder} holds results of {len(below)} split/mode folder"
                          f"{'s' if len(below) > 1 else ''} ({shown}); evaluate one at a time, "
                          f"e.g. --results {folder / below[0]}")
    root = results_root(folder)
    if root is None:
        return ResultsFolder(folder, tuple(images))
    return ResultsFolder(folder, tuple(images), root=root, model=folder.parts[-3], split=folder.parts[-2],
                         mode=folder.parts[-1])


def results_root(path: str | os.PathLike) -> Path | None:
    """The output folder holding a results folder of vtonpipe's layout
    (``<root>/results/<model>/<split>/<mode>``); None for any other folder."""
    parts = _absolute(path).parts
    if len(parts) >= 5 and parts[-4] == "results" and parts[-1] in PAIR_MODES:
        return Path(*parts[:-4])
    return None


def folder_name(out: str | os.PathLike, folder: Path) -> str:
    """`folder` as one safe name: its path relative to `out` when inside it, else its absolute path."""
    try:
        name = folder.relative_to(_absolute(out)).as_posix()
    except ValueError:
        name = str(folder)
    return safe_name(name if name != "." else folder.name)


def _results_eval_dir(out: str | os.PathLike, results: ResultsFolder) -> Path:
    base = _absolute(out) / EVAL_DIR
    if results.root is not None:
        return base / results.model / results.split / results.mode
    return base / folder_name(out, results.path)


def evaluation_dir(out: str | os.PathLike, results: ResultsFolder, mode: str) -> Path:
    """Where the evaluation of `results` in `mode` writes its manifests, summary and report."""
    folder = _results_eval_dir(out, results)
    return folder if results.mode is not None else folder / mode


def comparison_dir(out: str | os.PathLike, results: ResultsFolder, against: ResultsFolder) -> Path:
    """Where the comparison of `results` against `against` writes: beside `results`' evaluations."""
    return _results_eval_dir(out, results) / "against" / folder_name(out, against.path)


def default_out(results_dir: str | os.PathLike) -> Path:
    """The output folder of an evaluation without --out: the vtonpipe output folder holding the
    results, else the results folder itself."""
    return results_root(results_dir) or _absolute(results_dir)
