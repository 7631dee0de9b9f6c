"""Paths that come from the browser, resolved inside the Jupyter root or refused.

Every route that names a file or folder (copy-in, download, job YAML, a job's ``code`` and local inputs,
a notebook) goes through ``RootPaths``; nothing else in the server turns a request string into a path.

Rules (``docs/rest-api.md`` explains them for users):

- paths are relative to the Jupyter root (``ServerApp.root_dir``) with ``/`` separators, as in the
  contents API; an absolute path is accepted only when it lies inside the root;
- the path is resolved with every symbolic link followed, and refused with **403 path_outside_root**
  unless the result is the root or below it (``..``, absolute paths and links out of the root alike);
- NUL bytes, backslashes and percent-encoded separators or dot segments are **400 invalid_path**:
  request bodies are JSON, nothing is ever percent-decoded, so such a path is a double-encoding bug
  or an attack, never a real file name;
- hidden parts (a name starting with ``.``) are **403 hidden_path** when the contents manager's
  ``allow_hidden`` is off (Jupyter's default), so the API reaches exactly what the file browser shows;
- a folder being copied in must not contain links out of the root (403); ``~`` is not expanded.

Writing (``place_tree``, used by download) never follows a link: each folder below the destination is
opened with ``O_NOFOLLOW`` relative to its parent and files are renamed into those folder descriptors,
so a link planted anywhere under the destination cannot redirect a write out of the root.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import urllib.parse
from pathlib import Path

from ..errors import Forbidden, InvalidRequest, PathOutsideRoot

_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


class RootPaths:
    def __init__(self, root: str | os.PathLike[str], *, allow_hidden: bool = False):
        self.root = Path(os.path.realpath(os.fspath(root)))
        self.allow_hidden = allow_hidden

    # ---- reading: request string -> real path --------------------------------------------------
    def resolve(self, path: object, *, field: str = "path", must_exist: bool = False, base: Path | None = None) -> Path:
        """The real (symlink-free) path inside the root that ``path`` names (relative to the root, or to
        ``base``, a real folder inside it), or a domain error. Messages show ``path`` as given."""
        if not isinstance(path, str):
            raise InvalidRequest(f"{field} must be a string.", details={"field": field}, code="invalid_path")
        _check_text(path, field)
        candidate = Path(path) if os.path.isabs(path) else (base or self.root) / path
        real = Path(os.path.realpath(candidate))
        if not self.inside(real):
            raise PathOutsideRoot(
                f"{field} {path!r} is outside the Jupyter root folder.", details={"field": field, "path": path}
            )
        if not self.allow_hidden:
            lexical = os.path.normpath(path).split("/") if not os.path.isabs(path) and base is None else []
            if _hidden(lexical) or _hidden(real.relative_to(self.root).parts):
                raise Forbidden(
                    f"{field} {path!r} is or is inside a hidden file or folder, and the server does not allow "
                    "hidden files (ContentsManager.allow_hidden).",
                    details={"field": field, "path": path},
                    code="hidden_path",
                )
        if must_exist and not real.exists():
            raise InvalidRequest(
                f"{field} {path!r} does not exist.", details={"field": field, "path": path}, code="path_not_found"
            )
        return real

    def inside(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents

    def relative(self, real: Path) -> str:
        """The root-relative ``/`` path of a real path inside the root ('' for the root itself)."""
        return real.relative_to(self.root).as_posix() if real != self.root else ""

    def check_tree(self, folder: Path, *, field: str = "path") -> None:
        """Refuse a folder that holds a link (at any depth) whose target is outside the root. Links to
        nowhere are ignored (the copy skips them too); links inside the root are fine."""
        for top, dirs, files in os.walk(folder):
            for name in dirs + files:
                entry = os.path.join(top, name)
                if os.path.islink(entry):
                    target = Path(os.path.realpath(entry))
                    if target.exists() and not self.inside(target):
                        shown = self.relative(Path(top) / name) if self.inside(Path(top)) else name
                        raise PathOutsideRoot(
                            f"{field}: {shown!r} is a link to a place outside the Jupyter root folder; "
                            "remove the link or copy its target into the root first.",
                            details={"field": field, "link": shown},
                        )

    # ---- writing: place a staged tree under a destination, never through a link ----------------
    def place_tree(self, staged: Path, destination: Path) -> list[Path]:
        """Move every file of ``staged`` (a folder we created and filled) to the same relative place
        under ``destination`` (a real path inside the root). Existing files are replaced. All checks
        run before the first file moves, so a refused download writes nothing."""
        files = sorted(p for p in staged.rglob("*") if p.is_file() and not p.is_symlink())
        relatives = [p.relative_to(staged) for p in files]
        for rel in relatives:
            self._check_target(destination, rel)
        placed: list[Path] = []
        fds: dict[Path, int] = {}
        try:
            for source, rel in zip(files, relatives, strict=True):
                folder_fd = self._open_folder(destination.relative_to(self.root) / rel.parent, fds)
                os.replace(source, rel.name, dst_dir_fd=folder_fd)
                placed.append(destination / rel)
        finally:
            for fd in fds.values():
                os.close(fd)
        return placed

    def _check_target(self, destination: Path, rel: Path) -> None:
        current = destination
        for index, part in enumerate(rel.parts):
            current = current / part
            try:
                info = os.lstat(current)
            except FileNotFoundError:
                return  # the rest will be created by us
            last = index == len(rel.parts) - 1
            if stat.S_ISLNK(info.st_mode):
                raise PathOutsideRoot(
                    f"{self.relative(destination)!r}: {self.relative(current)!r} is a link; downloads do not "
                    "write through or replace links. Choose another folder.",
                    details={"link": self.relative(current)},
                )
            if not last and not stat.S_ISDIR(info.st_mode):
                raise InvalidRequest(
                    f"{self.relative(current)!r} is a file, but the download needs a folder there.",
                    details={"path": self.relative(current)},
                    code="path_conflict",
                )
            if last and stat.S_ISDIR(info.st_mode):
                raise InvalidRequest(
                    f"{self.relative(current)!r} is a folder, but the download has a file of that name.",
                    details={"path": self.relative(current)},
                    code="path_conflict",
                )

    def _open_folder(self, relative: Path, fds: dict[Path, int]) -> int:
        """A descriptor of root/relative, walking (and creating) each part with O_NOFOLLOW."""
        if relative in fds:
            return fds[relative]
        if relative == Path("."):
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        else:
            parent = self._open_folder(relative.parent, fds)
            try:
                os.mkdir(relative.name, 0o777, dir_fd=parent)
            except FileExistsError:
                pass
            try:
                fd = os.open(relative.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link or a file meanwhile
                    raise PathOutsideRoot(
                        f"{relative.as_posix()!r} changed into a link or a file during the download.",
                        details={"path": relative.as_posix()},
                    ) from None
                raise
        fds[relative] = fd
        return fd


def _check_text(path: str, field: str) -> None:
    def refuse(why: str) -> None:
        raise InvalidRequest(f"{field} {path!r}: {why}", details={"field": field}, code="invalid_path")

    if "\x00" in path:
        refuse("NUL bytes are not allowed in paths.")
    if "\\" in path:
        refuse("use '/' to separate folders; backslashes are not allowed.")
    if _ENCODED.search(path):
        decoded = urllib.parse.unquote(path)
        if (
            decoded.count("/") != path.count("/")
            or "\\" in decoded
            or "\x00" in decoded
            or any(part in (".", "..") for part in decoded.split("/") if part not in path.split("/"))
        ):
            refuse("percent-encoded separators or dot segments are not allowed; paths are never URL-decoded.")


def _hidden(parts: list[str] | tuple[str, ...]) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in parts)
