"""Azurite (the Azure Storage emulator, from npm) as a real blob service for tests.

The session fixture ``azurite`` starts ``azurite-blob`` on 127.0.0.1 and a free port, with a
fresh data folder, in its own process group; waits until the port answers; yields an
``AzuriteBlob`` (connection string, account URL, the well-known ``devstoreaccount1`` name and
key); and kills the whole process group at the end of the session.

The binary is ``$AZURITE_BIN`` if set, else ``tests/azurite/node_modules/.bin/azurite-blob``
(``npm ci`` in ``tests/azurite`` installs the version pinned by ``package-lock.json``). Without it
the tests that need Azurite are skipped with a message saying how to install it, except when
``AZML_CI=1``: in CI a missing Azurite is a failure, not a silent skip.

Azurite never gives disk space back during a run (deleted blobs keep their extents), so each
session gets its own temporary folder and tests should use small files; to exercise chunked
uploads, set ``max_single_put_size``/``max_block_size`` to 1 MiB instead of using big files.

Use it from another test folder by importing the fixture in that folder's conftest
(``from azurite.fixture import azurite``) or listing ``azurite.fixture`` in a root
``pytest_plugins``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DEFAULT_BIN = HERE / "node_modules" / ".bin" / "azurite-blob"

# The emulator's fixed development account (public, documented by Microsoft; not a secret).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

START_TIMEOUT_SECONDS = 60.0  # a cold Node start on a busy 2-core machine; normally ~0.5 s
STOP_TIMEOUT_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class AzuriteBlob:
    """A running Azurite blob service."""

    host: str
    port: int
    location: Path
    pid: int
    account_name: str = ACCOUNT_NAME
    account_key: str = ACCOUNT_KEY

    @property
    def account_url(self) -> str:
        """``http://127.0.0.1:<port>/devstoreaccount1`` (path-style, as Azurite serves it)."""
        return f"http://{self.host}:{self.port}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.account_url};"
        )

    @property
    def credential(self) -> dict:
        """For ``BlobServiceClient(account_url, credential=...)``."""
        return {"account_name": self.account_name, "account_key": self.account_key}


def _missing(message: str) -> None:
    if os.environ.get("AZML_CI") == "1":
        pytest.fail(f"{message} (AZML_CI=1: Azurite is required in CI)", pytrace=False)
    pytest.skip(message)


def find_azurite_binary() -> Path:
    """The azurite-blob executable, or skip (fail under ``AZML_CI=1``) with how to get it."""
    env = os.environ.get("AZURITE_BIN")
    candidate = Path(env) if env else DEFAULT_BIN
    if not (candidate.is_file() and os.access(candidate, os.X_OK)):
        where = f"AZURITE_BIN={env}" if env else str(candidate)
        _missing(f"azurite-blob not found at {where}; run `npm ci` in {HERE} or set AZURITE_BIN")
    if shutil.which("node") is None and candidate.read_bytes()[:64].startswith(b"#!/usr/bin/env node"):
        _missing("azurite-blob needs `node` on PATH")
    return candidate


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    """Kill the process group Azurite leads (it was started with ``start_new_session``)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_SECONDS), (signal.SIGKILL, STOP_TIMEOUT_SECONDS)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def start_azurite(location: Path, *, binary: Path | None = None, host: str = "127.0.0.1", attempts: int = 3):
    """Start azurite-blob; return ``(AzuriteBlob, Popen)``. The caller must ``_stop`` the process."""
    binary = binary or find_azurite_binary()
    location.mkdir(parents=True, exist_ok=True)
    last_log = ""
    for _ in range(attempts):  # a free port can be taken between probe and bind: retry on a new one
        port = _free_port(host)
        log_path = location / f"azurite-{port}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    str(binary),
                    "--blobHost",
                    host,
                    "--blobPort",
                    str(port),
                    "--location",
                    str(location),
                    "--skipApiVersionCheck",
                    "--loose",
                    "--disableTelemetry",
                    "--silent",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline and proc.poll() is None:
            if _port_answers(host, port):
                return AzuriteBlob(host=host, port=port, location=location, pid=proc.pid), proc
            time.sleep(0.05)
        _stop(proc)
        last_log = log_path.read_text(errors="replace")[-2000:]
        if "EADDRINUSE" not in last_log:
            break
    raise RuntimeError(f"azurite-blob did not start (exit code {proc.returncode}); its output:\n{last_log}")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteBlob]:
    binary = find_azurite_binary()
    instance, proc = start_azurite(tmp_path_factory.mktemp("azurite"), binary=binary)
    try:
        yield instance
    finally:
        _stop(proc)
