"""Fixtures for the REST API tests: a Jupyter server (pytest-jupyter) with the extension on a fresh local
workspace, and ``api(...)``, a thin JSON client over ``jp_fetch`` that never raises on 4xx/5xx."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "azml_config(**traits): extra c.AzmlJupyter settings for this test's server")
    config.addinivalue_line("markers", "server_config(**sections): extra traitlets config sections for the server")


@pytest.fixture
def jp_server_config(azml_home: Path, request: pytest.FixtureRequest):
    """The shared config (``tests/conftest.py``) plus per-test ``@pytest.mark.azml_config(...)``."""
    config: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"azml_jupyter": True}},
        "AzmlJupyter": {"local_home": str(azml_home), "backend": "local"},
    }
    marker = request.node.get_closest_marker("azml_config")
    if marker is not None:
        config["AzmlJupyter"].update(marker.kwargs)
    marker = request.node.get_closest_marker("server_config")
    if marker is not None:
        for section, values in marker.kwargs.items():
            config.setdefault(section, {}).update(values)
    return config


@dataclass
class Reply:
    status: int
    body: bytes
    headers: Any

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def error(self) -> str | None:
        return (self.json or {}).get("error")


@pytest.fixture
def api(jp_fetch):
    """``await api("POST", "jobs", {"yaml": ...})`` -> Reply (status, json, headers)."""

    async def call(method: str, path: str, body: Any = None, *, params=None, headers=None, raw: bytes | None = None):
        kwargs: dict[str, Any] = {"method": method, "raise_error": False, "headers": dict(headers or {})}
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT"):
            kwargs["body"] = b""
        if method in ("POST", "PUT") or "body" in kwargs:
            kwargs["allow_nonstandard_methods"] = True
        response = await jp_fetch("azml", *path.split("/"), params=params, **kwargs)
        return Reply(response.code, response.body or b"", response.headers)

    return call


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    """The Jupyter root folder of the server under test (its real path)."""
    return Path(jp_root_dir).resolve()


TERMINAL = {"Completed", "Failed", "Canceled"}
ENV = "azureml:AzureML-sklearn-1.5@latest"


async def _wait_job(api, name: str, timeout: float = 60, until=None) -> dict:
    """Poll GET /azml/jobs/{name} until it ended (or ``until(record)``); fail after ``timeout``."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        reply = await api("GET", f"jobs/{name}")
        assert reply.status == 200, reply.body
        record = reply.json
        if (until(record) if until else record["status"] in TERMINAL):
            return record
        assert time.monotonic() < deadline, f"job {name} is still {record['status']}"
        await asyncio.sleep(0.05)


async def _wait_operation(api, operation_id: str, timeout: float = 60) -> dict:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        reply = await api("GET", f"operations/{operation_id}")
        assert reply.status == 200, reply.body
        if reply.json["state"] != "Running":
            return reply.json
        assert time.monotonic() < deadline, f"operation {operation_id} is still running"
        await asyncio.sleep(0.05)


def _stored_state(home: Path) -> tuple:
    """Everything a refused request must not change: jobs, assets, operations, computes, files."""
    import sqlite3

    files = sorted(
        str(p.relative_to(home)) for p in home.rglob("*")
        if p.is_file() and not p.name.startswith("workspace.db")
        and p.name not in ("engine.log", "engine.pid", "engine.lock")
    )
    if not (home / "workspace.db").exists():
        return ((), files)
    db = sqlite3.connect(home / "workspace.db")
    try:
        counts = tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                       for t in ("jobs", "data_assets", "operations", "computes", "file_fingerprints"))
    finally:
        db.close()
    return (counts, files)


def _job_yaml(command: str = "echo hello", **extra: str) -> str:
    lines = [f"command: {command}", f"environment: {ENV}"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def wait_job(api):
    """``await wait_job(name[, until=predicate])`` -> the job record once it ended (or matched)."""
    return lambda name, **kwargs: _wait_job(api, name, **kwargs)


@pytest.fixture
def wait_operation(api):
    return lambda operation_id, **kwargs: _wait_operation(api, operation_id, **kwargs)


@pytest.fixture
def stored_state(azml_home: Path):
    """``stored_state()`` -> a snapshot to compare before and after a refused request."""
    return lambda: _stored_state(azml_home)


@pytest.fixture
def job_yaml():
    """``job_yaml("echo hi", compute="azureml:x")`` -> command job YAML text."""
    return _job_yaml


# ---- a real `jupyter server` process (kill -9, schemathesis) -----------------------------------------
SERVER_TOKEN = "azml-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, root: Path, home: Path, env: dict[str, str], log: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = SERVER_TOKEN
        jupyter = Path(sys.executable).with_name("jupyter-server")
        output = open(log, "wb") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(jupyter), "--no-browser", "--allow-root", f"--port={self.port}", "--ip=127.0.0.1",
             f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={SERVER_TOKEN}",
             f"--AzmlJupyter.local_home={home}", "--AzmlJupyter.backend=local"],
            env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if log:
            output.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                self.call("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                assert self.process.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {SERVER_TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)  # the server, by its own pid: no chance to clean up
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(30)


@pytest.fixture
def jupyter_server():
    """``jupyter_server(root, home, env, log) -> Server``: a separate ``jupyter server`` process with the
    extension on loopback (token ``SERVER_TOKEN``); stopped at the end of the test."""
    started: list[Server] = []

    def start(root: Path, home: Path, env: dict[str, str] | None = None, log: Path | None = None) -> Server:
        server = Server(root, home, env or {}, log)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
