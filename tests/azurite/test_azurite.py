"""Azurite answers the real azure-storage-blob client, and the fixture behaves as promised."""

from __future__ import annotations

import hashlib
import os

import pytest

from .fixture import AzuriteBlob, find_azurite_binary


def test_upload_and_download_a_blob(azurite: AzuriteBlob):
    from azure.storage.blob import BlobServiceClient, ContentSettings

    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, max_single_put_size=1024 * 1024, max_block_size=1024 * 1024
    )
    container = service.create_container("roundtrip")

    small = b"hello from azml_jupyter\n"
    container.upload_blob("small.txt", small)
    assert container.download_blob("small.txt").readall() == small

    # 2.5 MiB with 1 MiB blocks: the chunked (Put Block / Put Block List) path.
    big = os.urandom(2 * 1024 * 1024 + 512 * 1024)
    md5 = hashlib.md5(big).digest()
    container.upload_blob(
        "data/big.bin", big, content_settings=ContentSettings(content_md5=md5), metadata={"src_size": str(len(big))}
    )
    props = container.get_blob_client("data/big.bin").get_blob_properties()
    assert props.size == len(big)
    assert bytes(props.content_settings.content_md5) == md5
    assert props.metadata == {"src_size": str(len(big))}
    assert container.download_blob("data/big.bin", max_concurrency=2).readall() == big
    assert sorted(b.name for b in container.list_blobs()) == ["data/big.bin", "small.txt"]


def test_account_url_and_key_work_without_the_connection_string(azurite: AzuriteBlob):
    from azure.storage.blob import BlobServiceClient

    assert azurite.account_url == f"http://127.0.0.1:{azurite.port}/devstoreaccount1"
    service = BlobServiceClient(azurite.account_url, credential=azurite.credential)
    service.create_container("by-url")
    service.get_blob_client("by-url", "x").upload_blob(b"x")
    assert [c.name for c in service.list_containers(name_starts_with="by-url")] == ["by-url"]


def test_missing_binary_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("AZURITE_BIN", str(tmp_path / "no-such-azurite"))
    monkeypatch.delenv("AZML_CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-azurite"):
        find_azurite_binary()


def test_missing_binary_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("AZURITE_BIN", str(tmp_path / "no-such-azurite"))
    monkeypatch.setenv("AZML_CI", "1")
    with pytest.raises(pytest.fail.Exception, match="AZML_CI=1"):
        find_azurite_binary()
