"""Real-browser tests: a real `jupyter lab` subprocess driven in Debian Chromium by Playwright.

Run them on their own (`pytest ui-tests`), never in one process with `tests/`: pytest-jupyter's
autouse event-loop fixtures and Playwright's sync API cannot share a pytest process. This folder
is outside `tests/`, so `tests/conftest.py` (and its `pytest_plugins`) is not loaded here.

Environment:
  AZML_CHROMIUM            browser binary (default /usr/bin/chromium; Playwright never downloads one)
  AZML_CI=1                a missing browser fails the run instead of skipping it
  AZML_UPDATE_SCREENSHOTS=1  write screenshots into docs/screenshots/
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS_DIR = REPO / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("AZML_CHROMIUM", "/usr/bin/chromium"))

# Playwright already passes --headless, --no-sandbox and a fresh profile directory. The rest keep
# Chromium off the network (the machine has none but the package registries) and quiet.
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

SERVER_START_TIMEOUT_S = 90


@dataclass(frozen=True)
class LabServer:
    base_url: str  # ends with "/"
    token: str
    root_dir: Path
    azml_home: Path
    log_path: Path

    def url(self, path: str = "lab") -> str:
        return f"{self.base_url}{path.lstrip('/')}?token={self.token}"

    def get_json(self, path: str) -> object:
        """GET a server route with the token; for assertions next to what the page shows."""
        return self.request_json("GET", path)

    def request_json(self, method: str, path: str, body: object | None = None) -> object:
        """Call a server route with the token (set-up and clean-up next to the browser's work)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return json.loads(text) if text else None


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _wait_until_answering(proc: subprocess.Popen, base_url: str, token: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    request = urllib.request.Request(f"{base_url}api/status", headers={"Authorization": f"token {token}"})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with code {proc.returncode} before answering:\n{_log_tail(log_path)}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S} s:\n{_log_tail(log_path)}")


def _stop_process_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A real `jupyter lab` on a free loopback port, with its own root, config and workspace home."""
    root_dir = tmp_path_factory.mktemp("lab-root")
    azml_home = tmp_path_factory.mktemp("azml-home")
    config_dir = tmp_path_factory.mktemp("jupyter-config")
    runtime_dir = tmp_path_factory.mktemp("jupyter-runtime")
    log_path = tmp_path_factory.mktemp("lab-log") / "jupyter-lab.log"

    # User settings live under JUPYTER_CONFIG_DIR: start from a clean slate, without the
    # "get notified about Jupyter news?" toast (and its request to the internet).
    notification_settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    notification_settings.mkdir(parents=True)
    (notification_settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )

    port = _free_loopback_port()
    token = secrets.token_hex(24)
    env = {
        **os.environ,
        "AZML_JUPYTER_HOME": str(azml_home),
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            command,
            cwd=root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels and runners stop with it
        )
    base_url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_answering(proc, base_url, token, log_path)
        yield LabServer(base_url, token, root_dir, azml_home, log_path)
    finally:
        _stop_process_group(proc)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On a failure, show the end of the Jupyter server's log next to the assertion."""
    report = yield
    server = getattr(item, "funcargs", {}).get("lab_server")
    if report.failed and isinstance(server, LabServer):
        report.sections.append(("jupyter lab log (last lines)", _log_tail(server.log_path)))
    return report


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, never a Playwright browser download."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package (scripts/test does)"
        if os.environ.get("AZML_CI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_FLAGS],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # A fixed size keeps screenshots comparable from one run to the next.
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def screenshot(page) -> Callable[[str], Path | None]:
    """`screenshot("name")` writes docs/screenshots/name.png when AZML_UPDATE_SCREENSHOTS=1."""

    def take(name: str) -> Path | None:
        if os.environ.get("AZML_UPDATE_SCREENSHOTS") != "1":
            return None
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS_DIR / f"{name}.png"
        page.wait_for_load_state("networkidle")  # let the launcher and icons finish loading
        page.screenshot(path=str(path))
        return path

    return take
