"""The local datastores: what ``azureml://datastores/<ds>/paths/<p>`` means on this machine, and the
content-addressed copy of local files into them (used by data assets and by jobs' local inputs).

Copy-in design (measured in ``benchmarks/``, reasons in ``docs/decisions.md``):
- every file becomes an immutable object ``objects/<blake3>``; a data asset's folder is a tree of
  hard links to objects, so an unchanged re-copy stores nothing and a folder with one changed file
  stores one file;
- a file whose (size, mtime, inode) match the last copy of the same source path is not read again;
- large files are copied by the kernel (``copy_file_range``) while another thread hashes the same
  bytes (BLAKE3 is ~3x faster than SHA-256 here), so copying runs at about ``cp`` speed;
- large copies are resumable: a partial copy in ``staging/`` is continued, not restarted;
- ``cancel`` (a threading.Event) is checked between chunks; nothing is registered for a canceled copy.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from blake3 import blake3

from ..errors import AzmlError, InvalidRequest, UnknownReference
from .layout import DEFAULT_DATASTORE, Layout
from .store import Store

CHUNK = 64 << 20  # copy_file_range chunk: one progress event per 64 MiB
SMALL_FILE = 4 << 20  # below this a file is read once, hashed and written from memory
FILE_WORKERS = 8  # parallel files: small-file copies are latency bound, not bandwidth bound

URI_PREFIX = "azureml://datastores/"


class CopyCanceled(AzmlError):
    status = 409
    code = "canceled"


@dataclasses.dataclass
class CopyProgress:
    bytes_total: int = 0
    files_total: int = 0
    bytes_done: int = 0
    files_done: int = 0
    files_skipped: int = 0
    current_item: str | None = None


@dataclasses.dataclass
class ImportResult:
    uri: str  # azureml://datastores/workspaceblobstore/paths/LocalUpload/<tree>/<name>
    path: Path
    content_hash: str
    size_bytes: int
    file_count: int
    files_skipped: int  # files whose content was already stored


@dataclasses.dataclass
class _PlannedFile:
    relpath: str
    source: Path
    size: int
    mtime_ns: int
    inode: int
    digest: str | None = None


def datastore_uri(datastore: str, path: str) -> str:
    return f"{URI_PREFIX}{datastore}/paths/{path.lstrip('/')}"


class LocalDatastores:
    def __init__(self, layout: Layout, store: Store):
        self.layout = layout
        self.store = store

    # ---- URIs -------------------------------------------------------------------------------------
    def path_for_uri(self, uri: str) -> Path:
        """``azureml://datastores/<ds>/paths/<p>`` -> the local path (which may not exist yet)."""
        if not uri.startswith(URI_PREFIX):
            raise InvalidRequest(f"Not a datastore URI: {uri}")
        datastore, sep, rest = uri[len(URI_PREFIX):].partition("/paths/")
        if not sep or not datastore:
            raise InvalidRequest(f"Malformed datastore URI {uri!r}: expected azureml://datastores/<name>/paths/<path>")
        root = self.layout.datastore(datastore)
        if not root.is_dir():
            raise UnknownReference(f"Unknown datastore {datastore!r} in {uri}.", details={"datastore": datastore})
        target = (root / rest.strip("/")).resolve()
        if target != root.resolve() and root.resolve() not in target.parents:
            raise InvalidRequest(f"Datastore path escapes its datastore: {uri}")
        return target

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
        planned = self._plan(source)
        progress = CopyProgress(bytes_total=sum(f.size for f in planned), files_total=len(planned))
        reporter = _Reporter(progress, on_progress)
        reporter.report(force=True)
        self._known_digests(planned, progress)
        reporter.report(force=True)
        todo = [f for f in planned if f.digest is None]
        if todo:
            with concurrent.futures.ThreadPoolExecutor(FILE_WORKERS, thread_name_prefix="azml-copy") as pool:
                futures = [pool.submit(self._store_file, f, reporter, cancel) for f in todo]
                try:
                    for future in concurrent.futures.as_completed(futures):
                        future.result()
                except BaseException:
                    if cancel is not None:
                        cancel.set()  # stop the other workers quickly
                    raise
            self.store.remember_fingerprints(
                [(str(f.source), f.size, f.mtime_ns, f.inode, f.digest) for f in todo if f.digest]
            )
        if cancel is not None and cancel.is_set():
            raise CopyCanceled("The copy was canceled.")
        tree = _tree_digest(planned, folder=source.is_dir())
        target = self._materialize(tree, source.name, planned, folder=source.is_dir())
        reporter.report(force=True)
        return ImportResult(
            uri=self.uri_for_path(target),
            path=target,
            content_hash=tree,
            size_bytes=progress.bytes_total,
            file_count=len(planned),
            files_skipped=progress.files_skipped,
        )

    def _plan(self, source: Path) -> list[_PlannedFile]:
        if source.is_file():
            st = source.stat()
            return [_PlannedFile(source.name, source, st.st_size, st.st_mtime_ns, st.st_ino)]
        planned = []
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # a dangling symlink
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                planned.append(
                    _PlannedFile(path.relative_to(source).as_posix(), path, st.st_size, st.st_mtime_ns, st.st_ino)
                )
        return planned

    def _known_digests(self, planned: list[_PlannedFile], progress: CopyProgress) -> None:
        """Files unchanged since we last copied them (same size, mtime, inode) are not read again."""
        known = self.store.fingerprints([str(f.source) for f in planned])
        for f in planned:
            row = known.get(str(f.source))
            if (
                row
                and (row["size"], row["mtime_ns"], row["inode"]) == (f.size, f.mtime_ns, f.inode)
                and self._object(row["digest"]).exists()
            ):
                f.digest = row["digest"]
                progress.files_skipped += 1
                progress.files_done += 1
                progress.bytes_done += f.size

    def _object(self, digest: str) -> Path:
        return self.layout.objects / digest[:2] / digest

    def _store_file(self, f: _PlannedFile, reporter: "_Reporter", cancel: threading.Event | None) -> None:
        if cancel is not None and cancel.is_set():
            raise CopyCanceled("The copy was canceled.")
        reporter.start(f.relpath)
        if f.size <= SMALL_FILE:
            data = f.source.read_bytes()
            f.digest = blake3(data).hexdigest()
            target = self._object(f.digest)
            if target.exists():
                reporter.skipped(f.size)
            else:
                staging = self.layout.staging / f"{uuid.uuid4().hex}.tmp"
                staging.write_bytes(data)
                reporter.advance(f.size)
                self._promote(staging, target)
        else:
            self._store_large_file(f, reporter, cancel)
        reporter.file_done()

    def _store_large_file(self, f: _PlannedFile, reporter: "_Reporter", cancel: threading.Event | None) -> None:
        # The partial copy's name depends on the source's identity, so a retry continues it.
        key = blake3(f"{f.source}|{f.size}|{f.mtime_ns}|{f.inode}".encode()).hexdigest()[:32]
        staging = self.layout.staging / f"{key}.partial"
        hasher = blake3()
        # unbuffered and not O_APPEND: copy_file_range refuses append-mode targets
        fd = os.open(staging, os.O_RDWR | os.O_CREAT, 0o644)
        with open(f.source, "rb") as src, open(fd, "r+b", buffering=0) as dst:
            done = dst.seek(0, os.SEEK_END)
            if done > f.size:  # the source shrank under the same identity: start over
                dst.truncate(0)
                dst.seek(0)
                done = 0
            # Hash what a previous attempt already copied, then copy on with the kernel while a
            # second thread hashes the same bytes (hashlib-style update releases the GIL).
            _hash_range(hasher, staging, 0, done)
            reporter.advance(done)
            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="azml-hash") as hash_pool:
                pending: concurrent.futures.Future | None = None
                offset = done
                while offset < f.size:
                    if cancel is not None and cancel.is_set():
                        raise CopyCanceled("The copy was canceled.")
                    length = min(CHUNK, f.size - offset)
                    copied = _copy_range(src, dst, offset, length)
                    if copied <= 0:
                        raise InvalidRequest(f"{f.source} changed while it was being copied; copy it again.")
                    if pending is not None:
                        pending.result()
                    pending = hash_pool.submit(_hash_range, hasher, f.source, offset, copied)
                    offset += copied
                    reporter.advance(copied)
                if pending is not None:
                    pending.result()
        f.digest = hasher.hexdigest()
        self._promote(staging, self._object(f.digest))

    def _promote(self, staging: Path, target: Path) -> None:
        """Make a finished copy an object (read-only); if an equal object exists, drop the copy."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staging, 0o444)
        if target.exists():
            staging.unlink()
        else:
            os.replace(staging, target)

    def _materialize(self, tree: str, name: str, planned: list[_PlannedFile], *, folder: bool) -> Path:
        """The datastore view of an import: ``LocalUpload/<tree>/<name>`` made of hard links to objects."""
        final_root = self.layout.datastore(DEFAULT_DATASTORE) / "LocalUpload" / tree
        if final_root.exists():
            return final_root / name
        building = final_root.with_name(f".{tree}.{uuid.uuid4().hex}.tmp")
        for f in planned:
            target = building / name / f.relpath if folder else building / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(self._object(f.digest), target)
        if folder and not planned:
            (building / name).mkdir(parents=True, exist_ok=True)
        try:
            os.rename(building, final_root)
        except OSError:  # another copy of the same content finished first
            shutil.rmtree(building, ignore_errors=True)
            if not final_root.exists():
                raise
        return final_root / name


def _copy_range(src, dst, offset: int, length: int) -> int:
    try:
        copied = os.copy_file_range(src.fileno(), dst.fileno(), length, offset)
        if copied > 0:
            return copied
    except (AttributeError, OSError):  # not Linux, or a filesystem without it
        pass
    src.seek(offset)
    data = src.read(min(length, 8 << 20))
    dst.write(data)
    return len(data)


def _hash_range(hasher: blake3, path: Path, offset: int, length: int) -> None:
    if length <= 0:
        return
    with open(path, "rb") as fh:
        fh.seek(offset)
        remaining = length
        while remaining > 0:
            block = fh.read(min(8 << 20, remaining))
            if not block:
                break
            hasher.update(block)
            remaining -= len(block)


def _tree_digest(planned: list[_PlannedFile], *, folder: bool) -> str:
    tree = blake3(b"folder\n" if folder else b"file\n")
    for f in planned:
        tree.update(f"{f.relpath}\0{f.size}\0{f.digest}\n".encode())
    return tree.hexdigest()[:40]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed
        shutil.copyfile(source, target)


class _Reporter:
    """Aggregates progress from worker threads; calls ``on_progress`` at most ~4 times a second."""

    def __init__(self, progress: CopyProgress, callback: Callable[[CopyProgress], None] | None):
        self.progress = progress
        self.callback = callback
        self.lock = threading.Lock()
        self.last = 0.0

    def start(self, item: str) -> None:
        with self.lock:
            self.progress.current_item = item

    def advance(self, nbytes: int) -> None:
        with self.lock:
            self.progress.bytes_done += nbytes
        self.report()

    def skipped(self, nbytes: int) -> None:
        with self.lock:
            self.progress.bytes_done += nbytes
            self.progress.files_skipped += 1

    def file_done(self) -> None:
        with self.lock:
            self.progress.files_done += 1
        self.report()

    def report(self, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        with self.lock:
            if not force and now - self.last < 0.25:
                return
            self.last = now
            snapshot = dataclasses.replace(self.progress)
        self.callback(snapshot)
