"""The REST API over both backends: the same requests, the same answers, from the local engine and from
Azure ML (the real azure-ai-ml SDK on the fake Azure ML service, storage in Azurite; ``tests/backends``).

The server gets the backend through its ``backend_factory`` setting. The rest of ``tests/server`` checks
the REST layer in depth on the local backend; this module checks, route by route, that an Azure
workspace behind the same routes gives the same shapes, statuses and errors, so the two cannot drift.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from azure_fake.fixtures import block_network, fake_azureml, fake_credential, fake_transport  # noqa: F401
from azurite.fixture import azurite  # noqa: F401
from backends.azure_harness import azure_backend, azure_env, backend_home  # noqa: F401

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*marshmallow.*"),
    pytest.mark.filterwarnings("ignore:.*Number.*field should not be instantiated.*"),
]

TRAIN_PY = (
    "import os\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/result.txt', 'w').write('42')\n"
    "print('epoch 1', flush=True)\nprint('done', flush=True)\n"
)
JOB = (
    "command: python main.py\ncode: ./src\nenvironment: azureml:sklearn:1\ncompute: azureml:cpu-cluster\n"
    "experiment_name: parity\n"
)


@pytest.fixture(params=["local", "azure"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def jp_server_config(kind: str, azml_home: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    settings: dict[str, Any] = {"local_home": str(azml_home), "backend": "local"}
    if kind == "azure":
        backend = request.getfixturevalue("azure_backend")
        settings["backend_factory"] = lambda app: backend
    return {"ServerApp": {"jpserver_extensions": {"azml_jupyter": True}}, "AzmlJupyter": settings}


@pytest.fixture
def steer(kind: str, request: pytest.FixtureRequest):
    """What the job's command does: the local engine runs it; on Azure the fake plays the runtime."""

    class Steer:
        def job(self, name: str, *, hold: bool = False) -> None:
            if kind == "azure":
                env = request.getfixturevalue("azure_env")
                env.fake.configure_job(
                    name, logs={"Running": "epoch 1\n", "Completed": "done\n"}, hold_at="Running" if hold else None
                )

        def finished(self, name: str) -> None:
            if kind == "azure":
                env = request.getfixturevalue("azure_env")
                env.put_artifact(name, "outputs/result.txt", "42")

    return Steer()


async def wait_job(api, steer, name: str, until: str | None = None) -> dict:
    for _ in range(1200):
        record = (await api("GET", f"jobs/{name}")).json
        if (until and record["status"] == until) or (
            not until and record["status"] in ("Completed", "Failed", "Canceled")
        ):
            if not until:
                steer.finished(name)
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {name} stayed {record['status']}")


async def wait_operation(api, operation_id: str) -> dict:
    for _ in range(1200):
        operation = (await api("GET", f"operations/{operation_id}")).json
        if operation["state"] != "Running":
            return operation
        await asyncio.sleep(0.05)
    raise AssertionError(f"operation {operation_id} did not end")


async def test_workspace_and_computes(api, kind):
    reply = await api("GET", "workspace")
    assert reply.status == 200 and reply.json["backend"] == kind
    for path, key in (("computes", "computes"), ("computes/sizes", "sizes"), ("computes/usage", "usage")):
        reply = await api("GET", path)
        assert reply.status == 200 and reply.json[key], reply.body
    reply = await api("PUT", "computes/parity-cluster", {"max_nodes": 2})
    assert reply.status == 202, reply.body
    operation = await wait_operation(api, reply.json["id"])
    assert operation["state"] == "Succeeded" and operation["result"]["compute"]["max_nodes"] == 2
    assert "parity-cluster" in [c["name"] for c in (await api("GET", "computes")).json["computes"]]
    reply = await api("PUT", "computes/parity-cluster", {"min_nodes": 5, "max_nodes": 2})
    assert reply.status == 400 and reply.error == "invalid_request"


async def test_copy_in_then_unchanged_copy(api, root):
    folder = root / "datasets" / "sales"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "b.csv").write_text("x,y\n3,4\n")
    reply = await api("POST", "data", {"path": "datasets/sales", "name": "sales"})
    assert reply.status == 202 and reply.json["kind"] == "copy_in", reply.body
    first = await wait_operation(api, reply.json["id"])
    assert first["state"] == "Succeeded", first
    assert (first["bytes_done"], first["files_total"]) == (16, 2)
    assert first["result"]["created"] is True and first["result"]["data_asset"]["version"] == "1"
    again = await wait_operation(
        api, (await api("POST", "data", {"path": "datasets/sales", "name": "sales"})).json["id"]
    )
    assert again["result"]["created"] is False and again["files_skipped"] == 2
    assert again["bytes_skipped"] == again["bytes_total"] == 16
    data = (await api("GET", "data")).json["data"]
    assert [(d["name"], d["version"], d["type"]) for d in data] == [("sales", "1", "uri_folder")]


async def test_job_submit_status_logs_outputs_download(api, root, steer):
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text(TRAIN_PY)
    steer.job("parity_job")
    reply = await api("POST", "jobs", {"yaml": JOB, "name": "parity_job"})
    assert reply.status == 201, reply.body
    assert reply.json["name"] == "parity_job" and reply.json["experiment_name"] == "parity"
    record = await wait_job(api, steer, "parity_job")
    assert record["status"] == "Completed", record

    reply = await api("GET", "jobs/parity_job/logs")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/event-stream")
    text = reply.body.decode()
    assert "event: log" in text and "data: epoch 1" in text and "data: done" in text
    assert text.rstrip().endswith('data: {"status": "Completed"}') and "event: end" in text

    outputs = (await api("GET", "jobs/parity_job/outputs")).json["outputs"]
    assert {"output": "default", "path": "outputs/result.txt", "size_bytes": 2} in outputs
    reply = await api("POST", "jobs/parity_job/download", {"path": "results"})
    assert reply.status == 200, reply.body
    assert "results/artifacts/outputs/result.txt" in reply.json["files"]
    assert (root / "results" / "artifacts" / "outputs" / "result.txt").read_text() == "42"

    listing = (await api("GET", "jobs", params={"experiment": "parity", "status": "Completed"})).json
    assert [j["name"] for j in listing["jobs"]] == ["parity_job"]


async def test_cancel_and_conflict(api, steer, kind):
    steer.job("parity_sleeper", hold=True)
    command = "sleep 60" if kind == "local" else "echo held by the fake"
    yaml = f"command: {command}\nenvironment: azureml:sklearn:1\ncompute: azureml:cpu-cluster\n"
    assert (await api("POST", "jobs", {"yaml": yaml, "name": "parity_sleeper"})).status == 201
    await wait_job(api, steer, "parity_sleeper", until="Running")
    reply = await api("POST", "jobs/parity_sleeper/cancel")
    assert reply.status == 202 and reply.json["name"] == "parity_sleeper"
    assert (await wait_job(api, steer, "parity_sleeper"))["status"] == "Canceled"
    reply = await api("POST", "jobs/parity_sleeper/cancel")
    assert reply.status == 409 and reply.error == "conflict"


async def test_pages_and_errors(api, steer, kind):
    yaml = "command: echo hi\nenvironment: azureml:sklearn:1\ncompute: azureml:cpu-cluster\n"
    for name in ("page_a", "page_b"):
        steer.job(name)
        assert (await api("POST", "jobs", {"yaml": yaml, "name": name})).status == 201
    first = (await api("GET", "jobs", params={"limit": "1"})).json
    assert [j["name"] for j in first["jobs"]] == ["page_b"] and first["next_cursor"]
    second = (await api("GET", "jobs", params={"limit": "1", "cursor": first["next_cursor"]})).json
    assert [j["name"] for j in second["jobs"]] == ["page_a"] and second["next_cursor"] is None

    for method, path, params, status, code in (
        ("GET", "jobs/no_such_job", None, 404, "not_found"),
        ("GET", "jobs/no_such_job/outputs", None, 404, "not_found"),
        ("GET", "jobs/no_such_job/logs", None, 404, "not_found"),
        ("POST", "jobs/no_such_job/cancel", None, 404, "not_found"),
        ("GET", "jobs", {"status": "Bogus"}, 400, "invalid_request"),
        ("GET", "jobs", {"cursor": "garbage!"}, 400, "invalid_request"),
        ("GET", "operations/" + "0" * 32, None, 404, "not_found"),
    ):
        reply = await api(method, path, params=params)
        assert (reply.status, reply.error) == (status, code), (path, reply.body)
    reply = await api("POST", "jobs", {"yaml": yaml, "name": "page_a"})
    assert reply.status == 409 and reply.error == "conflict"


async def test_credentials_in_environment_variables_are_refused(api, kind, request):
    yaml = "command: echo hi\nenvironment: azureml:sklearn:1\nenvironment_variables:\n  AZURE_CLIENT_SECRET: hunter2\n"
    reply = await api("POST", "jobs", {"yaml": yaml, "name": "leaky"})
    assert reply.status == 400 and reply.error == "secret_in_environment", reply.body
    assert "hunter2" not in reply.body.decode()
