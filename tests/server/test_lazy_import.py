"""Loading the extension does not import azure.ai.ml (1.6 s, and the Azure SDK's side effects).

A fresh Python process (this pytest process may have imported the SDK already) starts a real Jupyter
server with the extension, asks it for the workspace, computes, jobs, statuses and the OpenAPI
document, and reports which modules it has; then it submits a job, which must import the SDK -- so the
check is able to see an import when one happens."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from jupyter_server.serverapp import ServerApp
    from tornado.httpclient import AsyncHTTPClient

    home, root = sys.argv[1], sys.argv[2]
    app = ServerApp()
    app.initialize(argv=[
        "--ServerApp.jpserver_extensions={'azml_jupyter': True}",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True", f"--ServerApp.root_dir={root}", "--IdentityProvider.token=t0ken",
        f"--AzmlJupyter.local_home={home}", "--AzmlJupyter.backend=local",
    ])
    report = {"loaded": "azml_jupyter" in app.extension_manager.extensions
              and app.extension_manager.extensions["azml_jupyter"].enabled,
              "after_start": "azure.ai.ml" in sys.modules}

    async def ask():
        client = AsyncHTTPClient()
        base = f"http://127.0.0.1:{app.port}/azml/"
        headers = {"Authorization": "token t0ken"}
        for path in ("workspace", "computes", "computes/sizes", "data", "jobs", "statuses", "openapi.json"):
            response = await client.fetch(base + path, headers=headers)
            report.setdefault("codes", []).append(response.code)
        report["after_reads"] = "azure.ai.ml" in sys.modules
        body = json.dumps({"yaml": "command: echo hi\\nenvironment: azureml:env:1\\n"})
        response = await client.fetch(base + "jobs", method="POST", body=body, headers=headers, raise_error=False)
        report["submit"] = response.code
        report["after_submit"] = "azure.ai.ml" in sys.modules
        print("REPORT " + json.dumps(report), flush=True)
        await client.fetch(base + "jobs/" + json.loads(response.body)["name"] + "/cancel", method="POST",
                           body=b"", headers=headers, raise_error=False)
        app.stop()

    app.io_loop.add_callback(ask)
    app.start()
    """
)


@pytest.mark.filterwarnings("ignore")
def test_loading_the_extension_does_not_import_azure_ai_ml(tmp_path: Path, azml_home: Path):
    root = tmp_path / "root"
    root.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(azml_home), str(root)],
        capture_output=True, text=True, timeout=240, cwd=root,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(lines[0][len("REPORT "):])
    assert report["loaded"] is True
    assert report["codes"] == [200] * 7
    assert report["after_start"] is False, "loading the extension imported azure.ai.ml"
    assert report["after_reads"] is False, "reading the local workspace imported azure.ai.ml"
    assert report["submit"] == 201 and report["after_submit"] is True, "the check can see an import"
