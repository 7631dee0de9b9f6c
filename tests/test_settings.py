"""One configuration for every process (issue 12): ``c.AzmlJupyter.<trait>`` in the Jupyter config
files is read the same way by the server, its kernels and the CLI; a server's own command line reaches
its kernels; precedence is defaults < environment < config files < the server's settings < flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient

from azml_jupyter.settings import SERVER_SETTINGS_VARIABLE, AzmlJupyter, read_config_files

TOKEN = "settings-test-token"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AZML_JUPYTER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


def test_precedence_defaults_environment_files_server_flags(clean_env, monkeypatch, tmp_path):
    assert AzmlJupyter.load().local_home == "" and AzmlJupyter.load().backend == ""
    monkeypatch.setenv("AZML_JUPYTER_HOME", "/from/env")
    monkeypatch.setenv("AZML_JUPYTER_LOCAL_VCPU_QUOTA", "8")
    assert AzmlJupyter.load().local_home == "/from/env" and AzmlJupyter.load().local_vcpu_quota == 8
    (clean_env / "jupyter_server_config.json").write_text(
        json.dumps({"AzmlJupyter": {"local_home": "/from/json", "strict_compute": True}})
    )
    settings = AzmlJupyter.load()
    assert (settings.local_home, settings.strict_compute, settings.local_vcpu_quota) == ("/from/json", True, 8)
    (clean_env / "jupyter_server_config.py").write_text("c.AzmlJupyter.local_home = '/from/py'\n")
    assert AzmlJupyter.load().local_home == "/from/py"  # .py after .json in a folder, as jupyter_server
    monkeypatch.setenv(SERVER_SETTINGS_VARIABLE, json.dumps({"local_home": "/from/server", "max_workers": 99}))
    settings = AzmlJupyter.load()
    assert settings.local_home == "/from/server" and settings.max_workers == 8  # only shared settings are handed
    assert AzmlJupyter.load(local_home="/from/flag", backend=None).local_home == "/from/flag"


def test_a_broken_config_file_does_not_stop_a_kernel_or_the_cli(clean_env):
    (clean_env / "jupyter_server_config.py").write_text("this is not python\n")
    (clean_env / "jupyter_server_config.json").write_text('{"AzmlJupyter": {"backend": "local"}}')
    assert AzmlJupyter.load().backend == "local"
    assert read_config_files([str(clean_env)])["AzmlJupyter"]["backend"] == "local"


def _start_server(root: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter-server")), "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _call(url, "GET", "/api/status")
            return process, url
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


def _call(url: str, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        url + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _kernel_sees(url: str, runtime: Path, answer: Path) -> str:
    """Start a kernel through the server (as JupyterLab does); in it, write the workspace the process's
    backend opens (what %%azml_submit and "Submit selected cells" use) into ``answer``."""
    kernel = _call(url, "POST", "/api/kernels", {"name": "python3"})
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    try:
        code = KERNEL_CODE.format(answer=str(answer))
        reply = client.execute(code, reply=True, timeout=120)  # the shell channel queues until connected
        assert reply["content"]["status"] == "ok", reply["content"]
        return answer.read_text().strip()
    finally:
        client.stop_channels()
        _call(url, "DELETE", f"/api/kernels/{kernel['id']}")


KERNEL_CODE = (
    "from pathlib import Path\nfrom azml_jupyter.notebook.handle import default_backend\n"
    "Path({answer!r}).write_text(default_backend().workspace().home)"
)


@pytest.mark.parametrize("configured_by", ["config file", "server command line"])
def test_a_server_and_a_kernel_in_it_use_the_same_workspace(tmp_path, configured_by):
    home = tmp_path / "configured-home"
    config, runtime, root = tmp_path / "config", tmp_path / "runtime", tmp_path / "root"
    for folder in (config, runtime, root):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZML_JUPYTER_")}
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(runtime), AZML_ENGINE_IDLE_EXIT="5")
    env["AZML_JUPYTER_HOME"] = str(tmp_path / "not-this-one")  # the environment alone would pick this one
    args: list[str] = []
    if configured_by == "config file":
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"AzmlJupyter": {"backend": "local", "local_home": str(home)}})
        )
    else:
        args = ["--AzmlJupyter.backend=local", f"--AzmlJupyter.local_home={home}"]
    process, url = _start_server(root, env, *args)
    try:
        panel = _call(url, "GET", "/azml/workspace")["home"]  # what the panel shows
        kernel = _kernel_sees(url, runtime, tmp_path / "kernel-answer.txt")  # where %%azml_submit and "Submit cells" go
        assert Path(panel).resolve() == Path(kernel).resolve() == home.resolve()
        if configured_by == "config file":  # the CLI in the same environment agrees
            cli = subprocess.run(
                [sys.executable, "-m", "azml_jupyter.cli", "workspace", "show"], env=env, capture_output=True,
                text=True, timeout=120, check=True,
            )  # fmt: skip
            assert Path(json.loads(cli.stdout)["home"]).resolve() == home.resolve()
    finally:
        process.terminate()
        process.wait(30)
