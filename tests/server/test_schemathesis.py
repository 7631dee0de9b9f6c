"""schemathesis against the OpenAPI document, over a real ``jupyter server`` on loopback with a token:
every generated request (positive and negative data; coverage, fuzzing and stateful phases, the
stateful one following the document's links from created jobs and operations) must get a non-5xx
answer, and the server log must show no 5xx either.

    .venv/bin/pytest tests/server/test_schemathesis.py -s       # prints the number of cases it ran
    AZML_SCHEMATHESIS_EXAMPLES=200 .venv/bin/pytest ... -s      # a longer run (default: 30 per operation)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from azml_jupyter.server.handlers import ROUTES

ENV = "azureml:AzureML-sklearn-1.5@latest"


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors(tmp_path: Path, azml_home: Path, jupyter_server):
    root = tmp_path / "root"
    root.mkdir()
    # what the document's examples name, so the positive examples can succeed
    (root / "example.csv").write_text("a,b\n1,2\n")
    (root / "example-job.yml").write_text(f"command: echo from a file\nenvironment: {ENV}\n")
    log = tmp_path / "server.log"
    server = jupyter_server(root, azml_home, log=log)
    report = tmp_path / "schemathesis.json"
    examples = os.environ.get("AZML_SCHEMATHESIS_EXAMPLES", "30")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "run", f"{server.url}/azml/openapi.json",
         "-H", f"Authorization: token {server.token}",
         "--checks", "not_a_server_error", "--max-examples", examples, "--seed", "20261126",
         "--request-timeout", "60", "--report", "json", "--report-json-path", str(report)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]
    print(f"\nschemathesis {summary['schemathesis_version']}: {cases['generated']} cases, "
          f"{cases['with_failures']} with failures, {cases['errored']} errored, "
          f"{summary['operations']['tested']}/{summary['operations']['total']} operations, "
          f"{summary['running_time']:.1f} s")
    assert done.returncode == 0, done.stdout[-5000:]
    served = sum(1 for _, handler in ROUTES for method in ("get", "post", "put", "delete") if method in vars(handler))
    # every operation but GET /azml/openapi.json, which schemathesis reads as the schema instead of testing
    assert summary["operations"]["tested"] == summary["operations"]["total"] == served - 1
    assert cases["with_failures"] == 0 and cases["errored"] == 0 and summary["failures"] == []
    assert cases["generated"] >= 500
    server_errors = [line for line in log.read_text(errors="replace").splitlines()
                     if re.search(r"\b5\d\d (GET|POST|PUT|DELETE) ", line) or "Traceback" in line]
    assert server_errors == [], server_errors[:20]
