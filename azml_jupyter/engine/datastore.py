"""The local datastores: what ``azureml://datastores/<ds>/paths/<p>`` means on this machine, and the
content-addressed copy of local files into them (used by data assets and by jobs' local inputs).

Copy-in design (measured by ``benchmarks/copy_in_local.py``, figures in ``docs/benchmarks-rest.md``):
- every file becomes an immutable object ``objects/<blake3>``; a data asset's folder is a tree of
  hard links to objects, so an unchanged re-copy stores nothing and a folder with one changed file
  stores one file;
- a file whose (size, mtime, inode) match the last copy of the same source path is not read again,
  and when the whole tree is unchanged nothing but a directory walk and one lookup happens;
- files are streamed (a bounded buffer, never a whole file in memory): small ones through a few
  threads (their cost is system calls, not bandwidth), large ones copied by the kernel
  (``copy_file_range``) while a second thread hashes the same bytes, so copying runs at about ``cp``
  speed;
- large copies are resumable: a partial copy in ``staging/`` (named after the source's identity and
  locked while in use) is continued, not restarted, after its prefix is checked against the source;
- ``cancel`` (a threading.Event) is checked between chunks and files; nothing is registered for a
  canceled copy; ``AZML_COPY_MAX_BYTES_PER_SECOND`` caps the copy rate (leave disk bandwidth to jobs).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import errno
import fcntl
import itertools
import mmap
import os
import re
import shutil
import stat
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

from blake3 import blake3

from ..copy_progress import CopyCanceled, CopyProgress, ProgressReporter
from ..errors import InvalidRequest, UnknownReference
from . import confinement
from .layout import DEFAULT_DATASTORE, Layout
from .store import Store

CHUNK = 64 << 20  # large files: one copy_file_range call (and one progress step) per 64 MiB
BLOCK = 1 << 20  # streaming buffer of the small-file path and of the hash thread
LARGE_FILE = 8 << 20  # from this size on: kernel copy + hashing thread + resumable staging
REPORT_EVERY = 64  # small files: progress is added up per this many files (one lock, not one per file)
STALE_STAGING_SECONDS = 7 * 24 * 3600

URI_PREFIX = "azureml://datastores/"
DATASTORE_NAME = re.compile(r"[A-Za-z0-9_]{1,255}")  # Azure ML: alphanumeric characters and underscores
_ENCODED_SPECIAL = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)  # . / \ NUL


@dataclasses.dataclass
class ImportResult:
    uri: str  # azureml://datastores/workspaceblobstore/paths/LocalUpload/<tree>/<name>
    path: Path
    content_hash: str
    size_bytes: int
    file_count: int
    files_skipped: int  # files whose content was already stored
    bytes_copied: int = 0  # bytes actually written this time


class _PlannedFile:
    __slots__ = ("relpath", "source", "size", "mtime_ns", "inode", "digest")

    def __init__(self, relpath: str, source: str, size: int, mtime_ns: int, inode: int):
        self.relpath = relpath
        self.source = source
        self.size = size
        self.mtime_ns = mtime_ns
        self.inode = inode
        self.digest: str | None = None


def datastore_uri(datastore: str, path: str) -> str:
    return f"{URI_PREFIX}{datastore}/paths/{path.lstrip('/')}"


def _path_problem(rest: str) -> str | None:
    """Why the part after ``paths/`` could name something outside the datastore, or None. Each level
    of percent-decoding is checked too, so no encoded spelling slips past a later decoder."""
    if "\\" in rest or "\x00" in rest:
        return "backslashes and NUL bytes are not allowed in datastore paths"
    text = rest
    for _ in range(4):
        if _ENCODED_SPECIAL.search(text):
            return "percent-encoded dots, slashes, backslashes and NULs are not allowed in datastore paths"
        decoded = urllib.parse.unquote(text)
        if decoded == text:
            break
        text = decoded
    segments = rest.rstrip("/").split("/") if rest.rstrip("/") else []
    if "" in segments:
        return "a path after paths/ is relative: no leading or doubled slashes"
    if any(segment in (".", "..") for segment in segments):
        return "'.' and '..' segments are not allowed in datastore paths"
    return None


def _escape(label: str, uri: str, why: str) -> InvalidRequest:
    return InvalidRequest(
        f"{label}{uri!r} escapes the datastore root: {why}.",
        details={"uri": uri},
        code="path_outside_datastore",
    )


class LocalDatastores:
    def __init__(self, layout: Layout, store: Store):
        self.layout = layout
        self.store = store
        self._objects = str(layout.objects)
        self._staging = str(layout.staging)
        self._prefixes: set[str] = set()
        self._prefix_lock = threading.Lock()
        self._temporary_prefix = f"{os.getpid()}-{uuid.uuid4().hex[:12]}-"
        self._counter = itertools.count()

    # ---- URIs -------------------------------------------------------------------------------------
    def path_for_uri(self, uri: str, *, what: str | None = None) -> Path:
        """``azureml://datastores/<ds>/paths/<p>`` -> the local path (which may not exist yet), always
        inside that datastore's folder. The one place a datastore URI becomes a path (job inputs and
        outputs, the engine's mounts, outputs and downloads). ``what`` names the user of the URI in
        errors ("Input 'data'").

        Refused, never repaired: a datastore that is not a plain name; after ``paths/`` a ``.``/``..``
        segment, an empty one (an absolute path or a doubled slash), a backslash, a NUL, a
        percent-encoded dot or separator at any level of encoding (URIs are never decoded here, so
        such a spelling can only be a mistake or an attack); and a path that leaves the datastore
        through a symbolic link inside it."""
        label = f"{what}: " if what else ""
        if not uri.startswith(URI_PREFIX):
            raise InvalidRequest(f"{label}Not a datastore URI: {uri}")
        datastore, sep, rest = uri[len(URI_PREFIX) :].partition("/paths/")
        if not sep or not datastore:
            raise InvalidRequest(
                f"{label}Malformed datastore URI {uri!r}: expected azureml://datastores/<name>/paths/<path>"
            )
        if not DATASTORE_NAME.fullmatch(datastore):
            raise _escape(label, uri, f"{datastore!r} is not a datastore name (letters, digits and underscores)")
        root = self.layout.datastore(datastore)
        if not root.is_dir():
            raise UnknownReference(
                f"{label}Unknown datastore {datastore!r} in {uri}.", details={"datastore": datastore}
            )
        problem = _path_problem(rest)
        if problem:
            raise _escape(label, uri, problem)
        real_root = root.resolve()
        target = real_root.joinpath(*rest.rstrip("/").split("/")).resolve()  # follows links inside the datastore
        if target != real_root and real_root not in target.parents:
            raise _escape(label, uri, f"it leads through a symbolic link to {target}")
        return target

    def confined_files(self, location: Path, *, what: str) -> list[tuple[str, Path]]:
        """The files of a datastore location (a file, or a folder's files at any depth) as
        (relative ``/`` path, real path), sorted. A link inside that leads out of the location's
        datastore is refused (a job may have left one in its outputs); links to folders are not
        entered and dangling links are skipped, as in copy-in."""
        location = Path(location)
        if not location.exists():
            return []
        real = location.resolve()
        roots = [folder.resolve() for folder in (self.layout.home / "datastores").iterdir() if folder.is_dir()]
        root = next((r for r in roots if confinement.inside(real, r)), None)
        if root is None:
            raise InvalidRequest(f"{what}: {location} is not inside a datastore of this workspace.")
        if location.is_file():
            return [(location.name, location)]
        found: list[tuple[str, Path]] = []
        for top, _dirs, names in os.walk(location):
            for name in names:
                path = Path(top, name)
                if path.is_symlink():
                    shown = path.relative_to(location).as_posix()
                    target = confinement.link_target(path, root, what=what, shown=shown, where="its datastore")
                    if target is None or not target.is_file():
                        continue
                    path = target
                if path.is_file():
                    found.append((Path(top, name).relative_to(location).as_posix(), path))
        return sorted(found)

    def uri_for_path(self, path: Path) -> str:
        path = Path(path).resolve()
        datastores = (self.layout.home / "datastores").resolve()
        relative = path.relative_to(datastores)
        datastore, *rest = relative.parts
        return datastore_uri(datastore, "/".join(rest))

    # ---- import (copy-in) -------------------------------------------------------------------------
    def import_path(
        self,
        source: Path,
        *,
        on_progress: Callable[[CopyProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ImportResult:
        """Copy a local file or folder into the default datastore, content-addressed and deduplicated."""
        source = Path(source)
        if not source.exists():
            raise InvalidRequest(f"{source} does not exist.", details={"path": str(source)})
        folder = source.is_dir()
        self._drop_stale_staging()
        planned = self._plan(source)
        progress = CopyProgress(bytes_total=sum(f.size for f in planned), files_total=len(planned))
        reporter = _Reporter(progress, on_progress, _Throttle.from_environment())
        reporter.report(force=True)
        # The whole tree unchanged since its last copy (every name, size, mtime and inode): one lookup,
        # no per-file work. The row lives among the file fingerprints under the key "tree:<path>".
        tree_key, signature = f"tree:{source}", _signature(planned, folder=folder)
        known_tree = self.store.fingerprints([tree_key]).get(tree_key)
        tree = (
            known_tree["digest"].partition(":")[2]
            if known_tree and known_tree["digest"].startswith(signature + ":")
            else None
        )
        final_root = self._final_root(tree) if tree else None
        if final_root and os.path.isdir(final_root):
            reporter.skipped_many(len(planned), progress.bytes_total)
        else:
            self._known_digests(planned, reporter)
            reporter.report(force=True)
            todo = [f for f in planned if f.digest is None]
            tree = final_root = None
            if not todo:  # everything was copied before: if the same tree exists too, we are done
                tree = _tree_digest(planned, folder=folder)
                final_root = self._final_root(tree)
            if todo or not os.path.isdir(final_root):
                self._store_files(todo, reporter, cancel)
                if cancel is not None and cancel.is_set():
                    raise CopyCanceled("The copy was canceled.")
                tree = _tree_digest(planned, folder=folder)
                final_root = self._materialize(
                    tree, source.name, planned, folder=folder, reporter=reporter, cancel=cancel
                )
            rows = [(f.source, f.size, f.mtime_ns, f.inode, f.digest) for f in planned if f.digest]
            self.store.remember_fingerprints(rows + [(tree_key, len(planned), 0, 0, f"{signature}:{tree}")])
        reporter.report(force=True)
        return ImportResult(
            uri=self.uri_for_path(Path(final_root) / source.name),
            path=Path(final_root) / source.name,
            content_hash=tree,
            size_bytes=progress.bytes_total,
            file_count=len(planned),
            files_skipped=progress.files_skipped,
            bytes_copied=progress.bytes_done - progress.bytes_skipped,
        )

    def _plan(self, source: Path) -> list[_PlannedFile]:
        """Regular files in os.walk's sorted order (a folder's files, then its subfolders). Links follow
        the engine's one rule (``confinement.py``): links to files inside are followed, linked folders
        not entered, dangling links skipped, links out of the folder refused."""
        if not source.is_dir():
            st = os.stat(source)
            return [_PlannedFile(source.name, str(source), st.st_size, st.st_mtime_ns, st.st_ino)]
        planned: list[_PlannedFile] = []
        real_source = source.resolve()
        what = f"local folder {source}"

        def walk(top: str, prefix: str) -> None:
            try:
                entries = sorted(os.scandir(top), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                return
            folders = []
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry)
                    continue
                path = entry.path
                if entry.is_symlink():  # read what it points at (checked), never the link again
                    target = confinement.link_target(Path(path), real_source, what=what, shown=prefix + entry.name)
                    if target is None:
                        continue  # dangling
                    path = str(target)
                try:
                    st = entry.stat() if path is entry.path else os.stat(path)
                except FileNotFoundError:  # gone meanwhile
                    continue
                if stat.S_ISREG(st.st_mode):
                    planned.append(_PlannedFile(prefix + entry.name, path, st.st_size, st.st_mtime_ns, st.st_ino))
            for entry in folders:
                walk(entry.path, prefix + entry.name + "/")

        walk(str(source), "")
        return planned

    def _known_digests(self, planned: list[_PlannedFile], reporter: _Reporter) -> None:
        """Files unchanged since we last copied them (same size, mtime, inode) are not read again.
        (Objects are not checked here: a missing one is copied again when the asset folder is built.)"""
        known = self.store.fingerprints([f.source for f in planned])
        files = nbytes = 0
        for f in planned:
            row = known.get(f.source)
            if row and row["size"] == f.size and row["mtime_ns"] == f.mtime_ns and row["inode"] == f.inode:
                f.digest = row["digest"]
                files += 1
                nbytes += f.size
        reporter.skipped_many(files, nbytes)

    def _object(self, digest: str) -> str:
        prefix = f"{self._objects}/{digest[:2]}"
        if prefix not in self._prefixes:
            with self._prefix_lock:
                os.makedirs(prefix, exist_ok=True)
                self._prefixes.add(prefix)
        return f"{prefix}/{digest}"

    def _store_files(self, todo: list[_PlannedFile], reporter: _Reporter, cancel: threading.Event | None) -> None:
        """Small files one after another in one thread (on two cores, more threads only fight over the
        GIL: measured slower), large files in this thread at the same time."""
        small = [f for f in todo if f.size < LARGE_FILE]
        large = [f for f in todo if f.size >= LARGE_FILE]
        if not large:
            self._store_small_files(small, reporter, cancel)
            return
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="azml-copy") as pool:
            future = pool.submit(self._store_small_files, small, reporter, cancel) if small else None
            try:
                for f in large:
                    self._store_large(f, reporter, cancel)
            except BaseException:
                if cancel is not None:
                    cancel.set()  # stop the small-file thread quickly
                raise
            finally:
                if future is not None:
                    future.result()

    def _store_small_files(
        self, files: list[_PlannedFile], reporter: _Reporter, cancel: threading.Event | None
    ) -> None:
        buffer = bytearray(BLOCK)
        view = memoryview(buffer)
        copied = skipped = count = skipped_count = 0
        for index, f in enumerate(files, 1):
            if cancel is not None and cancel.is_set():
                raise CopyCanceled("The copy was canceled.")
            size, stored = self._store_small(f, view)
            count += 1
            if stored:
                copied += size
            else:
                skipped += size
                skipped_count += 1
            if count == REPORT_EVERY or index == len(files):
                reporter.start(f.relpath)
                reporter.add_files(count, copied, skipped_count, skipped)
                copied = skipped = count = skipped_count = 0

    def _store_small(self, f: _PlannedFile, view: memoryview) -> tuple[int, bool]:
        """Stream one file through ``view``, hashing as it is read. A file that fits the buffer is
        written only if its object is new; a longer one is written to staging as it is read.
        Returns (bytes, whether anything was written)."""
        src = os.open(f.source, os.O_RDONLY)
        try:
            n = os.readv(src, [view])
            hasher = blake3(view[:n])
            if n < len(view):  # the whole file is in the buffer
                f.digest = hasher.hexdigest()
                target = self._object(f.digest)
                if os.path.exists(target):
                    return n, False
                temporary = self._temporary()
                _write_file(temporary, [view[:n]])
                os.rename(temporary, target)
                return n, True
            temporary = self._temporary()
            out = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            total = 0
            try:
                while n:
                    _write_all(out, view[:n])
                    total += n
                    n = os.readv(src, [view])
                    hasher.update(view[:n])
            finally:
                os.close(out)
            f.digest = hasher.hexdigest()
            os.rename(temporary, self._object(f.digest))
            return total, True
        finally:
            os.close(src)

    def _temporary(self) -> str:
        """A unique staging name without a random-number system call per file."""
        return f"{self._staging}/{self._temporary_prefix}{next(self._counter)}.tmp"

    def _store_large(self, f: _PlannedFile, reporter: _Reporter, cancel: threading.Event | None) -> None:
        reporter.start(f.relpath)
        # The partial copy's name depends on the source's identity, so a retry (even by another
        # process after this one was killed) continues it; a lock keeps two copies from sharing it.
        key = blake3(f"{f.source}|{f.size}|{f.mtime_ns}|{f.inode}".encode()).hexdigest()[:32]
        staging = os.path.join(self._staging, f"{key}.partial")
        dst = _open_locked(staging)
        try:
            src = os.open(f.source, os.O_RDONLY)
            try:
                staged = os.fstat(dst).st_size
                hasher = blake3()
                done = _verified_prefix(src, dst, staged, hasher) if 0 < staged <= f.size else 0
                if done:
                    reporter.skipped(done, file_done=False)
                self._copy_and_hash(f, src, dst, done, hasher, reporter, cancel)
                if staged > f.size:
                    # Cut stale bytes only now, and never to zero: on ext4 a truncate to zero makes the
                    # close flush the whole file to disk (auto_da_alloc), measured at +0.4 s per GiB.
                    os.ftruncate(dst, f.size)
            finally:
                os.close(src)
            digest = hasher.hexdigest()
            os.fchmod(dst, 0o444)
            os.replace(staging, self._object(digest))  # while still locked: a waiter sees it is gone
        finally:
            os.close(dst)
        f.digest = digest
        reporter.file_done()

    def _copy_and_hash(
        self,
        f: _PlannedFile,
        src: int,
        dst: int,
        offset: int,
        hasher: blake3,
        reporter: _Reporter,
        cancel: threading.Event | None,
    ) -> None:
        """Kernel copy of [offset, size) while one thread hashes each chunk just copied (so the object's
        name is the hash of the bytes stored)."""
        chunk = reporter.throttle.chunk(CHUNK)
        buffer = bytearray(BLOCK)
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="azml-hash") as hash_pool:
            pending: concurrent.futures.Future | None = None
            try:
                while offset < f.size:
                    if cancel is not None and cancel.is_set():
                        raise CopyCanceled("The copy was canceled.")
                    copied = _copy_range(src, dst, offset, min(chunk, f.size - offset), buffer)
                    if copied <= 0:
                        raise InvalidRequest(f"{f.source} changed while it was being copied; copy it again.")
                    if pending is not None:
                        pending.result()
                    pending = hash_pool.submit(_hash_copied, hasher, dst, offset, copied, buffer)
                    offset += copied
                    reporter.advance(copied)
                    reporter.throttle.wait()
            finally:
                if pending is not None:
                    pending.result()

    def _final_root(self, tree: str) -> str:
        return os.path.join(str(self.layout.datastore(DEFAULT_DATASTORE)), "LocalUpload", tree)

    def _materialize(
        self,
        tree: str,
        name: str,
        planned: list[_PlannedFile],
        *,
        folder: bool,
        reporter: _Reporter,
        cancel: threading.Event | None,
    ) -> str:
        """The datastore view of an import: ``LocalUpload/<tree>/<name>`` made of hard links to objects,
        built beside its final place and renamed into it (a reader never sees half a folder)."""
        final_root = self._final_root(tree)
        if os.path.isdir(final_root):
            return final_root
        os.makedirs(os.path.dirname(final_root), exist_ok=True)
        building = os.path.join(os.path.dirname(final_root), f".{tree}.{uuid.uuid4().hex}.tmp")
        made: set[str] = set()
        top = f"{building}/{name}"
        try:
            for f in planned:
                target = f"{top}/{f.relpath}" if folder else top
                parent = target.rpartition("/")[0]
                if parent not in made:
                    os.makedirs(parent, exist_ok=True)
                    made.add(parent)
                try:
                    _link_or_copy(self._object(f.digest), target)
                except FileNotFoundError:  # the object went missing since it was fingerprinted: copy again
                    reporter.unskip(f.size)
                    old = f.digest
                    self._store_files([f], reporter, cancel)
                    if f.digest != old:  # the file changed under the same identity: its tree is another one
                        raise InvalidRequest(f"{f.source} changed while it was being copied; copy it again.") from None
                    _link_or_copy(self._object(f.digest), target)
            if folder and not planned:
                os.makedirs(os.path.join(building, name), exist_ok=True)
            os.rename(building, final_root)
        except OSError:  # another copy of the same content finished first
            shutil.rmtree(building, ignore_errors=True)
            if not os.path.isdir(final_root):
                raise
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        return final_root

    def _drop_stale_staging(self) -> None:
        """Partial copies nobody resumed for a week, and temporary files of killed processes."""
        cutoff = time.time() - STALE_STAGING_SECONDS
        try:
            entries = list(os.scandir(self._staging))
        except FileNotFoundError:
            return
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                pass


def _open_locked(path: str) -> int:
    """Open (creating) and exclusively lock a staging file; if the file we locked was meanwhile
    finished and moved away by its previous holder, open the new one at that name instead."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _verified_prefix(src: int, dst: int, length: int, hasher: blake3) -> int:
    """Keep the ``length`` bytes an earlier attempt copied only if they equal the source's: hash both
    (the source in a second thread). On a match ``hasher`` holds the prefix's state and ``length`` is
    returned; otherwise 0 (start over)."""
    staged = blake3()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="azml-hash") as pool:
        future = pool.submit(_hash_range, hasher, src, 0, length, bytearray(BLOCK))
        _hash_range(staged, dst, 0, length, bytearray(BLOCK))
        future.result()
    if staged.digest() == hasher.digest():
        return length
    hasher.reset()
    return 0


def _copy_range(src: int, dst: int, offset: int, length: int, buffer: bytearray) -> int:
    try:
        copied = os.copy_file_range(src, dst, length, offset, offset)
        if copied > 0:
            return copied
    except OSError as exc:  # a filesystem (or kernel) without it: copy through a buffer
        if exc.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF):
            raise
    view = memoryview(buffer)[: min(length, len(buffer))]
    n = os.preadv(src, [view], offset)
    if n > 0:
        written = 0
        while written < n:
            written += os.pwrite(dst, view[written:n], offset + written)
    return n


def _hash_copied(hasher: blake3, fd: int, offset: int, length: int, buffer: bytearray) -> None:
    """Hash a range of our own staging file straight from the page cache through a memory map (no copy
    into a buffer: measured faster than reading). Only our staging file, never the user's source: a
    map of a file that someone truncates meanwhile would kill the process with SIGBUS, and nobody but
    this copy (holding the lock) changes the staging file."""
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    try:
        mapped = mmap.mmap(
            fd,
            length + offset - start,
            flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
            prot=mmap.PROT_READ,
            offset=start,
        )
    except (OSError, ValueError):  # a filesystem without mmap: read instead
        _hash_range(hasher, fd, offset, length, buffer)
        return
    try:
        with memoryview(mapped) as view:
            hasher.update(view[offset - start :])
    finally:
        mapped.close()


def _hash_range(hasher: blake3, fd: int, offset: int, length: int, buffer: bytearray) -> None:
    view = memoryview(buffer)
    end = offset + length
    while offset < end:
        n = os.preadv(fd, [view[: min(len(view), end - offset)]], offset)
        if n <= 0:
            break
        hasher.update(view[:n])
        offset += n


def _write_all(fd: int, data: memoryview) -> None:
    while len(data):
        written = os.write(fd, data)
        data = data[written:]


def _write_file(path: str, parts: list[memoryview]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        for part in parts:
            _write_all(fd, part)
    finally:
        os.close(fd)


def _signature(planned: list[_PlannedFile], *, folder: bool) -> str:
    """The identity of a source tree's current state: every file's name, size, mtime and inode."""
    text = "".join(f"{f.relpath}\0{f.size}\0{f.mtime_ns}\0{f.inode}\n" for f in planned)
    return blake3(("folder\n" if folder else "file\n").encode() + text.encode()).hexdigest()[:40]


def _tree_digest(planned: list[_PlannedFile], *, folder: bool) -> str:
    tree = blake3(b"folder\n" if folder else b"file\n")
    tree.update("".join(f"{f.relpath}\0{f.size}\0{f.digest}\n" for f in planned).encode())
    return tree.hexdigest()[:40]


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise
    except OSError:  # another filesystem, or links not allowed
        shutil.copyfile(source, target)


class _Throttle:
    """An optional cap on the copy rate (``AZML_COPY_MAX_BYTES_PER_SECOND``); free when unset."""

    def __init__(self, rate: float):
        self.rate = rate
        self.start = time.monotonic()
        self.bytes = 0
        self.lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> _Throttle:
        try:
            rate = float(os.environ.get("AZML_COPY_MAX_BYTES_PER_SECOND") or 0)
        except ValueError:
            rate = 0.0
        return cls(max(rate, 0.0))

    def chunk(self, default: int) -> int:
        """Smaller steps when capped, so the rate is smooth (about ten steps a second)."""
        return default if not self.rate else int(min(default, max(BLOCK, self.rate / 10)))

    def add(self, nbytes: int) -> None:
        if self.rate:
            with self.lock:
                self.bytes += nbytes

    def wait(self) -> None:
        if self.rate:
            ahead = self.bytes / self.rate - (time.monotonic() - self.start)
            if ahead > 0:
                time.sleep(ahead)


class _Reporter(ProgressReporter):
    """The shared reporter plus the optional rate cap and the batch counts of the small-file path."""

    def __init__(self, progress: CopyProgress, callback: Callable[[CopyProgress], None] | None, throttle: _Throttle):
        super().__init__(progress, callback)
        self.throttle = throttle

    def advance(self, nbytes: int, *, file_done: bool = False) -> None:
        self.throttle.add(nbytes)
        if file_done:
            self.throttle.wait()
        super().advance(nbytes, file_done=file_done)

    def add_files(self, files: int, copied: int, skipped_files: int, skipped: int) -> None:
        """A batch of whole small files: ``copied`` bytes written, ``skipped`` already stored."""
        with self.lock:
            self.progress.files_done += files
            self.progress.bytes_done += copied + skipped
            self.progress.files_skipped += skipped_files
            self.progress.bytes_skipped += skipped
        self.throttle.add(copied)
        self.throttle.wait()
        self.report()

    def skipped_many(self, files: int, nbytes: int) -> None:
        """Whole files that needed no copying."""
        with self.lock:
            self.progress.files_done += files
            self.progress.files_skipped += files
            self.progress.bytes_done += nbytes
            self.progress.bytes_skipped += nbytes

    def unskip(self, nbytes: int) -> None:
        with self.lock:
            self.progress.bytes_done -= nbytes
            self.progress.bytes_skipped -= nbytes
            self.progress.files_done -= 1
            self.progress.files_skipped -= 1
