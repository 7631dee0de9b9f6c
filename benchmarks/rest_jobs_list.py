"""``GET /azml/jobs?limit=50`` with 10,000 jobs stored: latency percentiles (goal: p50 < 20 ms).

    .venv/bin/python benchmarks/rest_jobs_list.py [--jobs 10000] [--requests 500]

A real ``jupyter server`` (loopback, token) on a fresh local workspace whose store holds ``--jobs``
finished command jobs (written straight into SQLite, shaped like real submissions: inputs, outputs,
tags, a run spec). One kept-alive connection asks, in turn: the first page, the first page again with
``If-None-Match`` (the panel's cheap refresh: 304), a status-filtered page, and a page deep in the list
via ``cursor``. Latency is client-side wall time per request, including JSON decoding on the server.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rest_common import JupyterServer, machine, ms, percentiles  # noqa: E402

from azml_jupyter.engine.workspace import LocalWorkspace  # noqa: E402


def fill(home: Path, count: int) -> None:
    workspace = LocalWorkspace(home, start_engine=False)
    now = time.time() - count
    rows = []
    for i in range(count):
        rows.append({
            "name": f"bench_job_{i:06d}", "type": "command", "status": ("Completed", "Failed", "Canceled")[i % 3],
            "display_name": f"train model {i}", "experiment_name": f"experiment-{i % 20}",
            "description": "a benchmark job", "tags": {"team": "ml", "run": str(i)}, "compute": "local",
            "environment": "azureml:AzureML-sklearn-1.5@latest",
            "command": "python train.py --data ${{inputs.data}} --lr ${{inputs.lr}} --model ${{outputs.model}}",
            "spec": {"command": "python train.py", "inputs": {"lr": {"kind": "literal", "value": 0.01}},
                     "outputs": {}, "environment_variables": {"A": "1"}, "notes": ["runs locally"]},
            "inputs": {"data": {"type": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/x/d",
                                "asset": "azureml:taxi:1"}, "lr": {"type": "literal", "value": 0.01}},
            "outputs": {"model": {"type": "uri_folder",
                                  "uri": f"azureml://datastores/workspaceblobstore/paths/azureml/bench_job_{i:06d}/model/"}},
            "created_at": now + i, "started_at": now + i + 0.5, "ended_at": now + i + 0.9, "exit_code": 0,
        })
    with workspace.store.transaction() as db:
        workspace.store.insert_jobs(db, rows)
    workspace.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="azml-bench-jobs-"))
    try:
        (scratch / "root").mkdir()
        fill(scratch / "home", args.jobs)
        with JupyterServer(scratch / "root", scratch / "home") as server:
            client = server.client()
            status, body, response = client.request("GET", "/azml/jobs?limit=50")
            assert status == 200 and len(json.loads(body)["jobs"]) == 50
            etag = response.getheader("Etag")
            deep_cursor = str(args.jobs // 2)
            for _ in range(20):  # warm up: backend opened, SQLite pages cached, code paths hot
                client.request("GET", "/azml/jobs?limit=50")
            kinds = ("first page", "304 refresh", "status filter", "deep page")
            samples: dict[str, list[float]] = {k: [] for k in kinds}
            for _ in range(args.requests):
                took, status = client.timed("GET", "/azml/jobs?limit=50")
                assert status == 200
                samples["first page"].append(took)
                took, status = client.timed("GET", "/azml/jobs?limit=50", headers={"If-None-Match": etag})
                assert status == 304
                samples["304 refresh"].append(took)
                took, status = client.timed("GET", "/azml/jobs?limit=50&status=Failed&status=Canceled")
                assert status == 200
                samples["status filter"].append(took)
                took, status = client.timed("GET", f"/azml/jobs?limit=50&cursor={deep_cursor}")
                assert status == 200
                samples["deep page"].append(took)
        print(f"machine: {machine()}")
        print(f"GET /azml/jobs?limit=50 with {args.jobs} jobs stored (goal p50 < 20 ms):")
        for label, values in samples.items():
            print(f"  {label:14s} {ms(percentiles(values))}")
        print(f"  response size: {len(body)} bytes")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
