"""Shared by the ``rest_*.py`` benchmarks: start a real ``jupyter server`` with the extension on loopback,
time HTTP requests over a kept-alive connection, and summarise latencies. Standard library only."""

from __future__ import annotations

import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterServer:
    """``with JupyterServer(root, home, extra_args) as server:`` -- stopped (SIGTERM, then SIGKILL by pid)."""

    def __init__(self, root: Path, home: Path | None, args: list[str] | None = None, env: dict | None = None,
                 log: Path | None = None, extension: bool = True):
        self.port = free_port()
        command = [str(VENV_BIN / "jupyter-server"), "--no-browser", "--allow-root", "--ip=127.0.0.1",
                   f"--port={self.port}", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}"]
        if extension:
            command += [f"--AzmlJupyter.local_home={home}", "--AzmlJupyter.backend=local"]
        else:
            command += ["--ServerApp.jpserver_extensions={'azml_jupyter': False}"]
        self.started = time.perf_counter()
        out = open(log, "wb") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(command + (args or []), env={**os.environ, **(env or {})}, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.ready_after = self._wait_ready()

    def _wait_ready(self, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/api/status", headers={"Authorization": f"token {TOKEN}"})
                if connection.getresponse().status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.005)

    def client(self) -> Client:
        return Client(self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(20)

    def __enter__(self) -> JupyterServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Client:
    """One kept-alive HTTP/1.1 connection (as a browser tab reuses its connection)."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        all_headers = {"Authorization": f"token {TOKEN}", **(headers or {})}
        payload = json.dumps(body).encode() if body is not None else None
        try:
            self.connection.request(method, path, body=payload, headers=all_headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.connection.request(method, path, body=payload, headers=all_headers)
            response = self.connection.getresponse()
        data = response.read()
        return response.status, data, response

    def timed(self, method: str, path: str, **kwargs) -> tuple[float, int]:
        start = time.perf_counter()
        status, _, _ = self.request(method, path, **kwargs)
        return time.perf_counter() - start, status


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]

    return {"n": len(ordered), "p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def ms(stats: dict[str, float]) -> str:
    return (f"n={stats['n']} p50 {stats['p50'] * 1000:.1f} ms  p90 {stats['p90'] * 1000:.1f} ms  "
            f"p99 {stats['p99'] * 1000:.1f} ms  max {stats['max'] * 1000:.1f} ms")


def machine() -> str:
    load = os.getloadavg()
    return (f"{platform.machine()} {os.cpu_count()} vCPU, Python {platform.python_version()}, "
            f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
