"""The resumable uploader (``backends/blob_upload.py``) against Azurite, a real blob service.

Small sizes with 1 MiB blocks keep Azurite's disk use low while still exercising the block path."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path

import pytest

from azml_jupyter.backends.blob_upload import (
    MAX_BLOCKS,
    MiB,
    ResumableUploader,
    SourceFile,
    _block_ids,
    make_blob_service,
)
from azml_jupyter.copy_progress import CopyCanceled
from azml_jupyter.errors import Conflict
from azml_jupyter.models import OperationState

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*marshmallow.*"),
    pytest.mark.filterwarnings("ignore:.*Number.*field should not be instantiated.*"),
]


@pytest.fixture
def container(azurite):
    service = make_blob_service(azurite.account_url, azurite.credential, retry_total=1)
    client = service.get_container_client(f"up-{uuid.uuid4().hex[:12]}")
    client.create_container()
    yield client
    service.close()


@pytest.fixture
def calls(monkeypatch):
    """Counts the write requests the uploader sends (Put Blob, Put Block, Put Block List)."""
    from azure.storage.blob import BlobClient, ContainerClient

    counted = {"upload_blob": 0, "stage_block": 0, "commit_block_list": 0}

    def wrap(cls, name):
        original = getattr(cls, name)

        def counting(self, *args, **kwargs):
            counted[name] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, counting)

    wrap(ContainerClient, "upload_blob")
    wrap(BlobClient, "stage_block")
    wrap(BlobClient, "commit_block_list")
    from azure.storage.blob.aio import ContainerClient as AsyncContainerClient

    original_async = AsyncContainerClient.upload_blob

    async def counting_async(self, *args, **kwargs):  # small files go through the asyncio client
        counted["upload_blob"] += 1
        return await original_async(self, *args, **kwargs)

    monkeypatch.setattr(AsyncContainerClient, "upload_blob", counting_async)
    return counted


def uploader(container, **kwargs) -> ResumableUploader:
    kwargs.setdefault("block_size", MiB)
    kwargs.setdefault("single_put_max", MiB)
    kwargs.setdefault("block_workers", 4)
    return ResumableUploader(container, **kwargs)


def make_tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"a,b\n" * 100)
    (root / "sub" / "b.json").write_bytes(b'{"x": 1}')
    (root / "sub" / "deeper" / "big.bin").write_bytes(os.urandom(3 * MiB + 12345))  # block path: 4 blocks
    (root / "empty.txt").write_bytes(b"")
    return root


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def test_folder_lands_under_its_prefix_with_whole_file_md5(container, tmp_path):
    source = make_tree(tmp_path / "dataset")
    up = uploader(container)
    plan = up.plan(source, "azml-jupyter/data/ds/1")
    assert plan.target == "azml-jupyter/data/ds/1/dataset/" and plan.folder
    result = up.upload(plan)
    assert (result.files_total, result.files_uploaded, result.files_skipped) == (4, 4, 0)
    assert (
        result.bytes_uploaded == result.bytes_total == sum(f.stat().st_size for f in source.rglob("*") if f.is_file())
    )
    names = sorted(b.name for b in container.list_blobs())
    assert names == ["azml-jupyter/data/ds/1/.azml-manifest.json"] + [
        f"azml-jupyter/data/ds/1/dataset/{r}" for r in ("a.csv", "empty.txt", "sub/b.json", "sub/deeper/big.bin")
    ]
    manifest = up.read_manifest(plan)
    assert manifest["target"] == plan.target and set(manifest["files"]) == {
        "a.csv",
        "empty.txt",
        "sub/b.json",
        "sub/deeper/big.bin",
    }
    for path in (p for p in source.rglob("*") if p.is_file()):
        blob = container.get_blob_client(plan.target + path.relative_to(source).as_posix())
        props = blob.get_blob_properties()
        assert bytes(props.content_settings.content_md5) == md5(path.read_bytes())
        assert props.metadata["azml_src_size"] == str(path.stat().st_size)
        assert blob.download_blob().readall() == path.read_bytes()
    assert (
        container.get_blob_client(plan.target + "a.csv").get_blob_properties().content_settings.content_type
        == "text/csv"
    )


def test_single_file(container, tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(2 * MiB + 1))
    up = uploader(container)
    plan = up.plan(source, "azml-jupyter/data/w/3/")
    assert (plan.target, plan.folder) == ("azml-jupyter/data/w/3/weights.bin", False)
    up.upload(plan)
    props = container.get_blob_client(plan.target).get_blob_properties()
    assert props.size == source.stat().st_size and bytes(props.content_settings.content_md5) == md5(source.read_bytes())


def test_unchanged_recopy_sends_nothing(container, tmp_path, calls):
    source = make_tree(tmp_path / "dataset")
    up = uploader(container)
    plan = up.plan(source, "p")
    up.upload(plan)
    etags = {b.name: b.etag for b in container.list_blobs()}
    sent = dict(calls)
    again = up.upload(up.plan(source, "p"))
    assert (again.files_uploaded, again.bytes_uploaded, again.files_skipped) == (0, 0, 4)
    assert again.bytes_skipped == again.bytes_total
    assert calls == sent  # not one write request
    assert {b.name: b.etag for b in container.list_blobs()} == etags
    assert up.unchanged(up.plan(source, "p")) == (True, [])


def test_touched_files_are_compared_by_md5_and_changed_ones_sent(container, tmp_path, calls):
    source = make_tree(tmp_path / "dataset")
    up = uploader(container)
    up.upload(up.plan(source, "p"))
    before = dict(calls)
    later = os.stat(source / "a.csv").st_mtime_ns + 10**9
    os.utime(source / "a.csv", ns=(later, later))  # same bytes, new mtime: hashed, not sent
    (source / "sub" / "b.json").write_bytes(b'{"x": 2}')  # same size, new bytes: sent
    assert up.unchanged(up.plan(source, "p")) == (False, ["sub/b.json"])
    result = up.upload(up.plan(source, "p"))
    assert (result.files_uploaded, result.files_skipped) == (1, 3)
    assert calls["upload_blob"] == before["upload_blob"] + 2  # b.json, then the new manifest
    blob = container.get_blob_client("p/dataset/sub/b.json")
    assert blob.download_blob().readall() == b'{"x": 2}'


def test_an_interrupted_large_file_resumes_with_the_same_checksum(container, tmp_path, calls):
    source = tmp_path / "big.bin"
    data = os.urandom(10 * MiB + 777)  # 11 blocks of 1 MiB
    source.write_bytes(data)
    up = uploader(container, block_workers=2)
    plan = up.plan(source, "resume")
    cancel = threading.Event()
    from azure.storage.blob import BlobClient

    counting_stage = BlobClient.stage_block  # the `calls` fixture's counter

    def interrupt(self, *args, **kwargs):  # the user cancels while the 3rd block is on its way
        if calls["stage_block"] == 2:
            cancel.set()
        return counting_stage(self, *args, **kwargs)

    BlobClient.stage_block = interrupt
    try:
        with pytest.raises(CopyCanceled):
            up.upload(plan, cancel=cancel)
    finally:
        BlobClient.stage_block = counting_stage
    blob = container.get_blob_client(plan.target)
    assert not blob.exists()  # nothing committed: a reader never sees half a file
    staged = len(blob.get_block_list("uncommitted")[1])
    assert 3 <= staged < 11
    first_stage_calls = calls["stage_block"]

    progress_seen = []
    result = up.upload(up.plan(source, "resume"), on_progress=progress_seen.append)
    assert calls["stage_block"] - first_stage_calls == 11 - staged  # only the missing blocks
    assert result.bytes_skipped >= staged * MiB and result.bytes_uploaded == len(data) - result.bytes_skipped
    assert progress_seen[-1].bytes_done == len(data)
    props = blob.get_blob_properties()
    assert bytes(props.content_settings.content_md5) == md5(data)
    assert md5(blob.download_blob().readall()) == md5(data)


def test_a_changed_file_gets_new_block_ids(tmp_path):
    path = tmp_path / "f"
    first = SourceFile("f", path, 3 * MiB, 1, "b/f")
    same = SourceFile("f", path, 3 * MiB, 1, "b/f")
    touched = SourceFile("f", path, 3 * MiB, 2, "b/f")
    assert _block_ids(first, MiB) == _block_ids(same, MiB)
    assert not set(_block_ids(first, MiB)) & set(_block_ids(touched, MiB))
    assert not set(_block_ids(first, MiB)) & set(_block_ids(first, 2 * MiB))
    assert len({len(i) for i in _block_ids(first, MiB)}) == 1  # all ids of a blob have one length


def test_block_size_grows_to_stay_under_the_block_limit(container, tmp_path):
    huge = 500 * 1024 * MiB  # 500 GiB: 8 MiB blocks would need 64,000
    up = ResumableUploader(container)
    block = max(up.block_size, -(-huge // MAX_BLOCKS // MiB) * MiB)
    assert block == 11 * MiB and len(_block_ids(SourceFile("x", tmp_path, huge, 0, "x"), block)) <= MAX_BLOCKS


def test_blobs_from_an_earlier_different_attempt_are_removed(container, tmp_path):
    source = make_tree(tmp_path / "dataset")
    container.upload_blob("p/dataset/old-file.csv", b"stale")
    container.upload_blob("p/other-source.bin", b"stale")
    result = uploader(container).upload(uploader(container).plan(source, "p"))
    assert sorted(result.deleted) == ["p/dataset/old-file.csv", "p/other-source.bin"]
    assert not [b.name for b in container.list_blobs() if "old" in b.name or "other" in b.name]


def test_a_file_growing_during_the_copy_is_refused(container, tmp_path):
    source = tmp_path / "log.txt"
    source.write_bytes(b"line\n" * 10)
    up = uploader(container)
    plan = up.plan(source, "growing")
    source.write_bytes(b"line\n" * 11)
    with pytest.raises(Conflict, match="changed while it was being copied"):
        up.upload(plan)


def test_backend_copy_in_resumes_an_interrupted_copy(
    azure_env, fake_credential, fake_transport, backend_home, tmp_path, monkeypatch
):
    """Cancel an AzureBackend copy-in part way, repeat it: the second copy keeps what the first sent,
    the asset is registered once, with the whole content."""
    from azml_jupyter.backends import blob_upload

    from .azure_harness import make_azure_backend

    azure_backend = make_azure_backend(
        azure_env,
        fake_credential,
        fake_transport,
        backend_home,
        uploader_options={"block_size": MiB, "single_put_max": MiB, "block_workers": 2},
    )
    source = tmp_path / "big.bin"
    data = os.urandom(8 * MiB)
    source.write_bytes(data)
    holder: list[str] = []
    ready = threading.Event()
    original = blob_upload.ProgressReporter.advance

    def cancel_after_some_blocks(self, nbytes, *, file_done=False):
        original(self, nbytes, file_done=file_done)
        if self.progress.bytes_done >= 3 * MiB and ready.wait(30):
            azure_backend.cancel_operation(holder[0])

    monkeypatch.setattr(blob_upload.ProgressReporter, "advance", cancel_after_some_blocks)
    first = azure_backend.copy_in(source, "resumable", version="1")
    holder.append(first.id)
    ready.set()
    assert azure_backend.operations.wait(first.id, timeout=60).state is OperationState.CANCELED
    assert ("data", "resumable") not in azure_env.fake.assets
    monkeypatch.setattr(blob_upload.ProgressReporter, "advance", original)

    second = azure_backend.operations.wait(azure_backend.copy_in(source, "resumable", version="1").id, timeout=60)
    assert second.state is OperationState.SUCCEEDED, second.error
    assert second.bytes_skipped >= 3 * MiB and second.result["bytes_uploaded"] == len(data) - second.bytes_skipped
    blob = azure_env.container().get_blob_client("azml-jupyter/data/resumable/1/big.bin")
    assert bytes(blob.get_blob_properties().content_settings.content_md5) == md5(data)
    assert list(azure_env.fake.assets[("data", "resumable")]) == ["1"]
    azure_backend.close()


def test_unchanged_recopy_reads_the_manifest_instead_of_listing(container, tmp_path, monkeypatch):
    from azure.storage.blob import ContainerClient

    source = make_tree(tmp_path / "dataset")
    up = uploader(container)
    up.upload(up.plan(source, "m"))
    listings = []
    original = ContainerClient.list_blobs
    monkeypatch.setattr(
        ContainerClient, "list_blobs", lambda self, *a, **k: listings.append(k) or original(self, *a, **k)
    )
    result = up.upload(up.plan(source, "m"))
    assert result.files_skipped == 4 and listings == []
    (source / "a.csv").write_bytes(b"changed")  # a different source: the manifest no longer matches
    result = up.upload(up.plan(source, "m"))
    assert result.files_uploaded == 1 and len(listings) == 1


def test_only_a_complete_upload_leaves_a_manifest(container, tmp_path, monkeypatch):
    from azure.storage.blob import ContainerClient

    source = make_tree(tmp_path / "dataset")
    up = uploader(container)
    plan = up.plan(source, "complete")
    up.upload(plan)
    assert up.read_manifest(plan) is not None
    (source / "a.csv").write_bytes(b"new content")
    (source / "sub" / "b.json").write_bytes(b'{"x": 3}')
    from azure.storage.blob.aio import ContainerClient as AsyncContainerClient

    original, original_async = ContainerClient.upload_blob, AsyncContainerClient.upload_blob

    def fail_on_b(self, name, *args, **kwargs):
        if name.endswith("b.json"):
            raise OSError("disk on fire")
        return original(self, name, *args, **kwargs)

    async def fail_on_b_async(self, name, *args, **kwargs):
        if name.endswith("b.json"):
            raise OSError("disk on fire")
        return await original_async(self, name, *args, **kwargs)

    monkeypatch.setattr(ContainerClient, "upload_blob", fail_on_b)
    monkeypatch.setattr(AsyncContainerClient, "upload_blob", fail_on_b_async)
    with pytest.raises(OSError):
        up.upload(up.plan(source, "complete"))
    assert up.read_manifest(plan) is None  # the old one went before anything changed; no new one
    monkeypatch.setattr(ContainerClient, "upload_blob", original)
    monkeypatch.setattr(AsyncContainerClient, "upload_blob", original_async)
    result = up.upload(up.plan(source, "complete"))
    assert result.files_uploaded == 1 and result.files_skipped == 3  # a.csv made it the first time
    assert up.unchanged(up.plan(source, "complete")) == (True, [])


@pytest.mark.parametrize("use_async", [True, False], ids=["asyncio", "threads"])
def test_both_small_file_paths_store_the_same(container, tmp_path, use_async):
    source = tmp_path / "many"
    source.mkdir()
    for i in range(120):
        (source / f"{i:03d}.txt").write_bytes(os.urandom(100 + i))
    up = uploader(container, use_async=use_async, file_workers=8, async_concurrency=16)
    result = up.upload(up.plan(source, f"paths-{use_async}"))
    assert result.files_uploaded == 120
    for path in sorted(source.iterdir())[:5]:
        props = container.get_blob_client(f"paths-{use_async}/many/{path.name}").get_blob_properties()
        assert bytes(props.content_settings.content_md5) == md5(path.read_bytes())
        assert props.metadata["azml_src_mtime_ns"] == str(path.stat().st_mtime_ns)


def test_the_async_client_gets_the_users_token_through_the_cache():
    import asyncio

    from azure_fake.credential import FakeCredential

    from azml_jupyter.backends.azure_auth import CachingCredential
    from azml_jupyter.backends.blob_upload import _async_container
    from azml_jupyter.backends.blob_upload import make_blob_service as make

    inner = FakeCredential()
    cached = CachingCredential(inner)
    sync = make("https://acct.blob.core.windows.net", cached).get_container_client("c")
    client = _async_container(sync)

    async def token() -> str:
        async with client:
            return (await client.credential.get_token("https://storage.azure.com/.default")).token

    assert asyncio.run(token()) == cached.get_token("https://storage.azure.com/.default").token
    assert inner.call_count == 1
