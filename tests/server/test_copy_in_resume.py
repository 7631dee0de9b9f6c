"""Copy-in survives a killed server: start a copy in a real ``jupyter server`` process, ``kill -9`` it in
the middle of a large file, start the server again, repeat the same request: it completes, the stored
copy's checksum equals the source's, and fewer bytes are copied the second time.

The first server caps the copy rate (``AZML_COPY_MAX_BYTES_PER_SECOND``) so that "the middle" lasts
seconds on any machine; nothing here asserts a duration."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

SIZE = 192 << 20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_copy_in_resumes_after_the_server_is_killed_mid_copy(tmp_path: Path, azml_home: Path, jupyter_server):
    root = tmp_path / "root"
    root.mkdir()
    source = root / "big.bin"
    with open(source, "wb") as fh:
        for _ in range(SIZE // (8 << 20)):
            fh.write(os.urandom(8 << 20))
    request = {"path": "big.bin", "name": "big"}

    first = jupyter_server(root, azml_home, {"AZML_COPY_MAX_BYTES_PER_SECOND": str(48 << 20)})
    try:
        status, operation = first.call("POST", "/azml/data", request)
        assert status == 202, operation
        deadline = time.monotonic() + 120
        while True:  # wait until the copy is well under way, but far from done
            status, operation = first.call("GET", f"/azml/operations/{operation['id']}")
            assert operation["state"] == "Running", operation
            if operation["bytes_done"] >= SIZE // 5:
                break
            assert time.monotonic() < deadline, "the copy did not progress"
            time.sleep(0.05)
        first.kill()
    finally:
        first.stop()
    partial = [p for p in (azml_home / "staging").iterdir() if p.name.endswith(".partial")]
    assert len(partial) == 1 and 0 < partial[0].stat().st_size < SIZE, "the kill hit the middle of the copy"
    kept = partial[0].stat().st_size

    second = jupyter_server(root, azml_home, {})
    try:
        status, old = second.call("GET", f"/azml/operations/{operation['id']}")
        assert status == 200 and old["state"] == "Failed" and old["error"].startswith("Interrupted"), old
        status, operation = second.call("POST", "/azml/data", request)  # the same request again
        assert status == 202, operation
        deadline = time.monotonic() + 120
        while operation["state"] == "Running":
            assert time.monotonic() < deadline, "the resumed copy did not finish"
            time.sleep(0.05)
            status, operation = second.call("GET", f"/azml/operations/{operation['id']}")
        assert operation["state"] == "Succeeded", operation
        assert operation["bytes_total"] == SIZE and operation["bytes_skipped"] == kept
        copied_second_time = SIZE - operation["bytes_skipped"]
        assert 0 < copied_second_time < SIZE
        asset = operation["result"]["data_asset"]
        stored = azml_home / "datastores" / "workspaceblobstore" / asset["path"].split("/paths/", 1)[1]
        assert sha256(stored) == sha256(source)
        assert not any(p.name.endswith(".partial") for p in (azml_home / "staging").iterdir())
        status, listing = second.call("GET", "/azml/data")
        assert [(d["name"], d["version"]) for d in listing["data"]] == [("big", "1")]
    finally:
        second.stop()
