"""Snapshot a job's code folder at submission, honouring ``.amlignore`` (else ``.gitignore``) the way
Azure ML does when it uploads code, so the local run sees exactly the files Azure ML would."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pathspec

from . import confinement

IGNORE_FILES = (".amlignore", ".gitignore")  # the first one present wins, as in azure-ai-ml


def snapshot_code(source: Path, destination: Path) -> int:
    """Copy ``source`` (a folder, or a single file) to ``destination``; returns the number of files.
    Links follow the engine's one rule (``confinement.py``): a link out of the folder is refused."""
    source = Path(source)
    destination.mkdir(parents=True, exist_ok=True)
    if source.is_file():
        shutil.copy2(source, destination / source.name)
        return 1
    spec = _ignore_spec(source)
    real_source = source.resolve()
    what = f"code folder {source}"
    copied = 0
    for root, dirs, files in os.walk(source):
        relative_root = Path(root).relative_to(source)
        dirs[:] = [d for d in dirs if not _ignored(spec, relative_root / d, folder=True)]
        for name in dirs:
            if os.path.islink(os.path.join(root, name)):  # not entered, but not a way out either
                shown = (relative_root / name).as_posix()
                confinement.link_target(Path(root, name), real_source, what=what, shown=shown)
        for name in files:
            relative = relative_root / name
            if _ignored(spec, relative, folder=False):
                continue
            path = Path(root, name)
            if path.is_symlink():
                target = confinement.link_target(path, real_source, what=what, shown=relative.as_posix())
                if target is None or not target.is_file():
                    continue  # dangling, or a link to something that is not a file
                path = target
            destination_file = destination / relative
            destination_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination_file)
            copied += 1
    return copied


def _ignore_spec(folder: Path) -> pathspec.PathSpec | None:
    for name in IGNORE_FILES:
        candidate = folder / name
        if candidate.is_file():
            return pathspec.PathSpec.from_lines("gitwildmatch", candidate.read_text(encoding="utf-8").splitlines())
    return None


def _ignored(spec: pathspec.PathSpec | None, relative: Path, *, folder: bool) -> bool:
    if spec is None:
        return False
    text = relative.as_posix() + ("/" if folder else "")
    return spec.match_file(text)
