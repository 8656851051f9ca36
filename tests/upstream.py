"""Upstream source code for parity tests, extracted at test time into a temp folder.

Upstream repositories (CatVTON, StableVITON, DM-VTON, PF-AFN, the OpenPose ports, HR-VITON) are
read, never copied into this repository. A parity test asks for the files it runs; they are taken
from a bare git snapshot of the repository in $VTONPIPE_UPSTREAM_DIR (default /work/.mirror, a
folder named <owner>+<name> holding a git directory) and unpacked under a pytest temp folder. Where
no snapshot is present (CI has no network for it) the test is skipped, saying how to run it.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

UPSTREAM_DIR = Path(os.environ.get("VTONPIPE_UPSTREAM_DIR", "/work/.mirror"))


def git_dir(repo: str) -> Path | None:
    """The bare git directory of `repo` ("owner/name") in UPSTREAM_DIR, or None."""
    root = UPSTREAM_DIR / repo.replace("/", "+")
    for candidate in (root / "repo" / ".git", root / "repo", root):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def extract(repo: str, paths: list[str], into: Path) -> tuple[Path, str]:
    """Unpack `paths` of `repo` at its snapshot's HEAD into `into`; returns (folder, commit).

    Skips the calling test when the snapshot is not there.
    """
    git = git_dir(repo)
    if git is None:
        pytest.skip(f"upstream {repo} not available: put a git snapshot in {UPSTREAM_DIR}/{repo.replace('/', '+')} "
                    "(or set VTONPIPE_UPSTREAM_DIR) to run this parity test")
    commit = subprocess.run(["git", f"--git-dir={git}", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    archive = subprocess.run(["git", f"--git-dir={git}", "archive", "--format=tar", "HEAD", "--", *paths],
                             capture_output=True, check=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into, commit
