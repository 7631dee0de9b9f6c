"""The local datastore's copy-in: content-addressed, streamed, skip-unchanged, resumable, cancelable.

Real files in a real workspace folder; the server-level resume test (a killed ``jupyter server``) is in
``tests/server/test_copy_in_resume.py``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import tracemalloc
from pathlib import Path

import pytest
from blake3 import blake3

from azml_jupyter.copy_progress import CopyCanceled, CopyProgress
from azml_jupyter.engine import datastore as ds
from azml_jupyter.engine.workspace import LocalWorkspace


@pytest.fixture
def ws(tmp_path: Path):
    workspace = LocalWorkspace(tmp_path / "home", start_engine=False)
    yield workspace
    workspace.close()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sums(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def objects(ws: LocalWorkspace) -> set[str]:
    return {p.name for p in ws.layout.objects.rglob("*") if p.is_file()}


def make_folder(root: Path) -> Path:
    folder = root / "data"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "sub" / "mid.bin").write_bytes(os.urandom(3 << 20))  # streamed through the buffer
    (folder / "sub" / "deeper" / "big.bin").write_bytes(os.urandom(ds.LARGE_FILE + 12345))  # kernel copy
    return folder


def test_folder_copy_is_exact_hard_linked_and_reports_progress(ws, tmp_path):
    folder = make_folder(tmp_path)
    events: list[CopyProgress] = []
    asset, created = ws.create_data("mydata", folder, on_progress=events.append)
    stored = ws.datastores.path_for_uri(asset.path)
    assert created and asset.type == "uri_folder" and asset.file_count == 4
    assert tree_sums(stored) == tree_sums(folder)
    assert all(p.stat().st_nlink >= 2 for p in stored.rglob("*") if p.is_file())  # linked to objects
    assert all(not os.access(p, os.W_OK) or os.geteuid() == 0 for p in stored.rglob("*") if p.is_file())
    done = [e.bytes_done for e in events]
    assert done == sorted(done), "progress never goes backwards"
    last = events[-1]
    assert (last.bytes_done, last.files_done, last.bytes_total, last.files_total) == (
        asset.size_bytes, 4, asset.size_bytes, 4)
    assert last.files_skipped == 0 and last.bytes_skipped == 0
    assert not any(ws.layout.staging.iterdir()), "nothing is left in staging"


def test_single_file_copy_and_object_name_is_its_blake3(ws, tmp_path):
    source = tmp_path / "one.bin"
    source.write_bytes(os.urandom(ds.LARGE_FILE * 2 + 7))
    asset, _ = ws.create_data("one", source)
    stored = ws.datastores.path_for_uri(asset.path)
    assert asset.type == "uri_file" and stored.name == "one.bin"
    assert sha256(stored) == sha256(source)
    assert objects(ws) == {blake3(source.read_bytes()).hexdigest()}


def test_unchanged_recopy_stores_nothing_and_reports_everything_skipped(ws, tmp_path):
    folder = make_folder(tmp_path)
    first, _ = ws.create_data("mydata", folder)
    before = {p: p.stat().st_mtime_ns for p in ws.layout.objects.rglob("*") if p.is_file()}
    events: list[CopyProgress] = []
    again, created = ws.create_data("mydata", folder, on_progress=events.append)
    assert not created and again.version == first.version
    assert {p: p.stat().st_mtime_ns for p in ws.layout.objects.rglob("*") if p.is_file()} == before
    assert events[-1].files_skipped == 4 and events[-1].bytes_skipped == first.size_bytes


def test_one_changed_file_stores_one_new_object(ws, tmp_path):
    folder = make_folder(tmp_path)
    ws.create_data("mydata", folder)
    before = objects(ws)
    (folder / "a.csv").write_text("x,y\n1,3\n")
    events: list[CopyProgress] = []
    asset, created = ws.create_data("mydata", folder, on_progress=events.append)
    assert created and asset.version == "2"
    assert len(objects(ws) - before) == 1
    assert events[-1].files_skipped == 3
    assert tree_sums(ws.datastores.path_for_uri(asset.path)) == tree_sums(folder)


def test_identical_contents_are_stored_once(ws, tmp_path):
    folder = tmp_path / "dupes"
    folder.mkdir()
    payload = os.urandom(100_000)
    for name in ("a", "b", "c"):
        (folder / name).write_bytes(payload)
    ws.create_data("dupes", folder)
    assert objects(ws) == {blake3(payload).hexdigest()}


def test_links_to_files_are_followed_linked_folders_and_dangling_links_are_not(ws, tmp_path):
    folder = tmp_path / "links"
    (folder / "elsewhere").mkdir(parents=True)
    (folder / "target.txt").write_text("target")
    (folder / "elsewhere" / "x.txt").write_text("x")
    os.symlink(folder / "target.txt", folder / "file-link")
    os.symlink("elsewhere", folder / "folder-link")
    os.symlink(tmp_path / "missing", folder / "dangling")
    asset, _ = ws.create_data("links", folder)
    stored = ws.datastores.path_for_uri(asset.path)
    assert tree_sums(stored) == {
        "elsewhere/x.txt": sha256(folder / "elsewhere" / "x.txt"),
        "file-link": sha256(folder / "target.txt"),
        "target.txt": sha256(folder / "target.txt"),
    }


def test_links_out_of_the_folder_are_refused(ws, tmp_path):
    """The engine's one rule for links (engine/confinement.py; tests/security/test_links.py)."""
    from azml_jupyter.errors import Forbidden

    folder = tmp_path / "links"
    folder.mkdir()
    (tmp_path / "target.txt").write_text("target")
    for name, target in (("file-link", tmp_path / "target.txt"), ("folder-link", tmp_path)):
        os.symlink(target, folder / name)
        with pytest.raises(Forbidden, match=f"{name}' is a symbolic link to .*outside the folder"):
            ws.create_data("links", folder)
        os.unlink(folder / name)


def test_streaming_keeps_memory_bounded(ws, tmp_path):
    """No whole-file reads: copying 7 MiB (buffer path) and 48 MiB (kernel path) files allocates about
    one buffer, not a file's worth of memory."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "seven.bin").write_bytes(os.urandom(7 << 20))
    (tmp_path / "s" / "big.bin").write_bytes(os.urandom(48 << 20))
    tracemalloc.start()
    try:
        ws.create_data("mem", tmp_path / "s")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 << 20, f"peak Python allocation {peak / 2**20:.1f} MiB"


def _partial_for(ws: LocalWorkspace, source: Path) -> Path:
    st = source.stat()
    key = blake3(f"{source}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}".encode()).hexdigest()[:32]
    return ws.layout.staging / f"{key}.partial"


def test_an_interrupted_large_copy_resumes_from_what_was_kept(ws, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(ds.LARGE_FILE * 3 + 99))
    kept = ds.LARGE_FILE + 4096
    with open(source, "rb") as src:  # what a killed copy leaves behind
        _partial_for(ws, source).write_bytes(src.read(kept))
    events: list[CopyProgress] = []
    asset, _ = ws.create_data("big", source, on_progress=events.append)
    assert events[-1].bytes_skipped == kept
    assert sha256(ws.datastores.path_for_uri(asset.path)) == sha256(source)
    assert not _partial_for(ws, source).exists()


def test_a_resumed_copy_whose_kept_part_is_wrong_starts_over(ws, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(ds.LARGE_FILE * 2))
    _partial_for(ws, source).write_bytes(b"\0" * (ds.LARGE_FILE // 2))  # e.g. unflushed blocks after a crash
    events: list[CopyProgress] = []
    asset, _ = ws.create_data("big", source, on_progress=events.append)
    assert events[-1].bytes_skipped == 0
    assert sha256(ws.datastores.path_for_uri(asset.path)) == sha256(source)


def test_cancel_registers_nothing_and_keeps_the_partial_copy_for_a_retry(ws, tmp_path, monkeypatch):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(ds.CHUNK * 2 + 5))
    cancel = threading.Event()
    advance = ds._Reporter.advance

    def advance_then_cancel(self, nbytes, **kwargs):  # the user presses cancel after the first chunk
        advance(self, nbytes, **kwargs)
        cancel.set()

    monkeypatch.setattr(ds._Reporter, "advance", advance_then_cancel)
    with pytest.raises(CopyCanceled):
        ws.create_data("big", source, cancel=cancel)
    monkeypatch.undo()
    assert ws.list_data() == []
    uploads = ws.layout.datastore("workspaceblobstore") / "LocalUpload"
    assert not uploads.exists() or not any(uploads.iterdir())
    partial = _partial_for(ws, source)
    kept = partial.stat().st_size
    assert 0 < kept < source.stat().st_size
    events: list[CopyProgress] = []
    asset, _ = ws.create_data("big", source, on_progress=events.append)
    assert events[-1].bytes_skipped == kept
    assert sha256(ws.datastores.path_for_uri(asset.path)) == sha256(source)


def test_two_concurrent_copies_of_one_large_file_both_succeed(ws, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(ds.CHUNK + ds.LARGE_FILE))
    results, errors = [], []

    def copy(name: str) -> None:
        try:
            other = LocalWorkspace(ws.layout.home, start_engine=False)
            results.append(other.create_data(name, source)[0])
            other.close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=copy, args=(f"c{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for asset in results:
        assert sha256(ws.datastores.path_for_uri(asset.path)) == sha256(source)
    assert objects(ws) == {blake3(source.read_bytes()).hexdigest()}


def test_a_deleted_object_is_copied_again(ws, tmp_path):
    folder = make_folder(tmp_path)
    ws.create_data("mydata", folder)
    (folder / "new.txt").write_text("a new file, so the tree is new")
    victim = next(p for p in ws.layout.objects.rglob("*") if p.is_file() and p.stat().st_size == 8)  # a.csv
    victim.unlink()
    asset, _ = ws.create_data("mydata", folder)
    assert tree_sums(ws.datastores.path_for_uri(asset.path)) == tree_sums(folder)
