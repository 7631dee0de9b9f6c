"""AzureBackend on its own: what the contract suite cannot say because the local engine has no
equivalent (node counts, SDK spellings, the requests on the wire, paging tokens, streaming).

The real azure-ai-ml SDK talks to the fake Azure ML service; our own storage traffic goes to Azurite,
except where a test says otherwise (then to the fake's in-memory blob service, through the SDK-style
default blob client with the user's token).
"""

from __future__ import annotations

import base64
import json
import textwrap
import urllib.parse
from pathlib import Path

import pytest

from azml_jupyter.backends.base import ComputeRequest
from azml_jupyter.errors import Conflict, InvalidRequest, NotFound, UnknownReference
from azml_jupyter.models import JobStatus, OperationState

from .azure_harness import make_azure_backend

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*marshmallow.*"),
    pytest.mark.filterwarnings("ignore:.*Number.*field should not be instantiated.*"),
]

JOB = """\
command: python train.py
code: ./src
environment: azureml:sklearn:1
compute: azureml:cpu-cluster
experiment_name: azure-tests
outputs:
  model:
    type: uri_folder
"""


def load(tmp_path: Path, text: str = JOB, folder: str = "job"):
    from azml_jupyter.spec.loader import load_job_file

    root = tmp_path / folder
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "train.py").write_text("print('hi')\n")
    (root / "job.yml").write_text(text)
    return load_job_file(root / "job.yml")


def routes(fake, since: int = 0) -> list[str]:
    return [r.route for r in fake.requests[since:]]


def wait_op(backend, operation):
    return backend.operations.wait(operation.id, timeout=60, poll=0.02)


# ---- workspace, computes, sizes, quota -------------------------------------------------------------


def test_workspace_info(azure_backend, azure_env):
    info = azure_backend.workspace()
    assert (info.backend, info.name, info.location) == ("azure", azure_env.fake.workspace_name, "eastus")
    assert info.subscription_id == azure_env.fake.subscription_id
    assert info.studio_url.startswith("https://ml.azure.com/") and azure_env.fake.workspace_name in info.studio_url


def test_computes_report_nodes_idle_time_tier_and_instances(azure_backend, azure_env):
    fake = azure_env.fake
    fake.add_compute(
        "gpu-spot",
        vm_size="Standard_NC6s_v3",
        min_nodes=1,
        max_nodes=8,
        current_nodes=3,
        tier="LowPriority",
        idle_seconds=1800,
    )
    fake.computes["gpu-spot"]["properties"]["properties"]["targetNodeCount"] = 5
    fake.add_compute("notebook-ci", compute_type="ComputeInstance")
    fake.computes["notebook-ci"]["properties"]["properties"]["state"] = "Running"
    computes = {c.name: c for c in azure_backend.list_computes()}
    spot = computes["gpu-spot"]
    assert (spot.type, spot.size, spot.state, spot.tier) == (
        "amlcompute",
        "Standard_NC6s_v3",
        "Succeeded",
        "low_priority",
    )
    assert (spot.min_nodes, spot.current_nodes, spot.target_nodes, spot.max_nodes) == (1, 3, 5, 8)
    assert spot.idle_seconds == 1800 and spot.location == "eastus"
    instance = computes["notebook-ci"]
    assert (instance.type, instance.state, instance.current_nodes, instance.max_nodes) == (
        "computeinstance",
        "Running",
        1,
        1,
    )
    assert routes(fake) == ["compute.list"]  # one call, node counts included


def test_sizes_and_usage_read_both_sdk_spellings(azure_backend, azure_env):
    azure_env.fake.add_vm_size("Standard_E4s_v3", family="standardESv3Family", vcpus=4, memory_gb=32.0)
    azure_env.fake.add_usage("standardNCSv3Family", "Standard NCSv3 Family vCPUs", current=12, limit=24)
    sizes = {s.name: s for s in azure_backend.list_sizes()}
    nc = sizes["Standard_NC6s_v3"]
    assert (nc.vcpus, nc.memory_gb, nc.gpus, nc.family, nc.low_priority_capable) == (
        6,
        112.0,
        1,
        "standardNCSv3Family",
        True,
    )
    assert sizes["Standard_E4s_v3"].memory_gb == 32.0
    usage = {u.family: u for u in azure_backend.list_usage()}
    assert (usage["standardNCSv3Family"].current, usage["standardNCSv3Family"].limit) == (12, 24)
    assert usage["standardNCSv3Family"].label == "Standard NCSv3 Family vCPUs"


def test_cluster_create_sends_the_request_now_and_waits_in_the_background(azure_backend, azure_env):
    fake = azure_env.fake
    operation = azure_backend.create_or_update_compute(
        ComputeRequest(name="gpu-cluster", size="Standard_NC6s_v3", max_nodes=2, tier="low_priority", idle_seconds=600)
    )
    assert operation.kind == "compute_update"
    assert fake.count("compute.put") == 1  # sent inside the call: a refusal would be this call's error
    done = wait_op(azure_backend, operation)
    assert done.state is OperationState.SUCCEEDED, done.error
    put = fake.requests_for("compute.put")[0].json()["properties"]
    assert put["properties"]["vmPriority"] == "LowPriority"
    assert put["properties"]["scaleSettings"] == {
        "minNodeCount": 0,
        "maxNodeCount": 2,
        "nodeIdleTimeBeforeScaleDown": "PT10M",
    }
    assert done.result["compute"]["state"] == "Succeeded"


def test_cluster_provisioning_failure_fails_the_operation(azure_backend, azure_env):
    azure_env.fake.fail_next_compute_provisioning("Quota exceeded for family NCSv3")
    done = wait_op(azure_backend, azure_backend.create_or_update_compute(ComputeRequest(name="big", max_nodes=50)))
    assert done.state is OperationState.FAILED
    assert "Quota exceeded" in done.error


def test_size_or_tier_of_an_existing_cluster_cannot_change(azure_backend, azure_env):
    for request in (
        ComputeRequest(name="cpu-cluster", size="Standard_NC6s_v3"),
        ComputeRequest(name="cpu-cluster", tier="low_priority"),
    ):
        with pytest.raises(InvalidRequest, match="existing cluster"):
            azure_backend.create_or_update_compute(request)
    azure_env.fake.add_compute("ci", compute_type="ComputeInstance")
    with pytest.raises(InvalidRequest, match="computeinstance"):
        azure_backend.create_or_update_compute(ComputeRequest(name="ci", max_nodes=2))
    assert azure_env.fake.count("compute.put") == 0


# ---- jobs --------------------------------------------------------------------------------------------


def test_submit_tags_the_job_and_uses_the_default_compute(
    azure_env, fake_credential, fake_transport, backend_home, tmp_path
):
    backend = make_azure_backend(
        azure_env, fake_credential, fake_transport, backend_home, default_compute="cpu-cluster"
    )
    job = load(tmp_path, JOB.replace("compute: azureml:cpu-cluster\n", ""))
    record = backend.submit(job, name="tagged")
    assert record.tags["azml_jupyter"]
    assert record.compute == "cpu-cluster"
    put = azure_env.fake.requests_for("jobs.put")[0].json()["properties"]
    assert put["computeId"].endswith("/computes/cpu-cluster") and "azml_jupyter" in put["tags"]
    assert record.studio_url.startswith("https://ml.azure.com/runs/tagged")
    backend.close()


def test_status_progresses_by_polling(azure_backend, azure_env, tmp_path):
    azure_backend.submit(load(tmp_path), name="steps")
    seen = [azure_backend.get_job("steps").status for _ in range(4)]
    assert seen == [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.COMPLETED]
    record = azure_backend.get_job("steps")
    assert record.started_at and record.ended_at and record.created_at


def test_failed_job_reports_the_service_error(azure_backend, azure_env, tmp_path):
    azure_env.fake.configure_job(
        "doomed",
        plan=["Starting", "Running", "Failed"],
        error={"code": "UserError", "message": "ModuleNotFoundError: sklearn"},
    )
    azure_backend.submit(load(tmp_path), name="doomed")
    azure_backend.get_job("doomed")
    failed = azure_backend.get_job("doomed")
    assert failed.status is JobStatus.FAILED and failed.error == "ModuleNotFoundError: sklearn"


def test_unknown_compute_in_a_job_is_the_callers_mistake(azure_backend, azure_env, tmp_path):
    azure_env.fake.fail("jobs.put", 400, code="UserError", message="Compute gpu-none not found in the workspace")
    with pytest.raises(UnknownReference):
        azure_backend.submit(load(tmp_path), name="nowhere")


def test_logs_are_read_incrementally_across_polls(azure_backend, azure_env, tmp_path):
    fake = azure_env.fake
    fake.configure_job("chatty", hold_at="Running", logs={"Running": "epoch 1\n"})
    azure_backend.submit(load(tmp_path), name="chatty")
    first = azure_backend.read_logs("chatty")
    assert (first.text, first.complete, first.status) == ("", False, "Starting")  # no log file yet
    azure_backend.get_job("chatty")
    azure_backend.get_job("chatty")  # Running: the runtime wrote the first line
    chunk = azure_backend.read_logs("chatty")
    assert (chunk.text, chunk.next_offset, chunk.status) == ("epoch 1\n", 8, "Running")
    fake.append_log("chatty", "epoch 2\nepo")  # a line still being written
    chunk = azure_backend.read_logs("chatty", chunk.next_offset)
    assert (chunk.offset, chunk.text, chunk.next_offset) == (8, "epoch 2\n", 16)
    again = azure_backend.read_logs("chatty", 16)
    assert (again.text, again.next_offset, again.complete) == ("", 16, False)
    fake.append_log("chatty", "ch 3\n")
    fake.release_job("chatty")
    fake.append_log("chatty", "last line without newline")
    azure_backend.get_job("chatty")  # Completed
    tail = azure_backend.read_logs("chatty", 16)
    assert tail.text == "epoch 3\nlast line without newline" and tail.complete
    # each read is a ranged GET of the log blob through the SDK's pipeline, never a full download
    ranges = [r.headers.get("Range") for r in fake.requests_for("blob.get")]
    assert ranges and all(r and r.startswith("bytes=") for r in ranges)
    assert "bytes=16-" in ranges[-1]
    assert fake.count("runs.details") >= 5 and fake.count("jobs.get") == 4  # status from run history per read


def test_log_reads_are_bounded_by_max_bytes(azure_backend, azure_env, tmp_path):
    azure_env.fake.configure_job("big-log", logs={"Running": "".join(f"line {i}\n" for i in range(100))})
    azure_backend.submit(load(tmp_path), name="big-log")
    for _ in range(3):
        azure_backend.get_job("big-log")
    text, offset = "", 0
    for _ in range(200):
        chunk = azure_backend.read_logs("big-log", offset, max_bytes=50)
        assert len(chunk.text.encode()) <= 50
        text, offset = text + chunk.text, chunk.next_offset
        if chunk.complete:
            break
    assert text == "".join(f"line {i}\n" for i in range(100))


def test_pipeline_submit_children_and_transcript_log(azure_backend, azure_env, fake_credential, tmp_path):
    pipeline = textwrap.dedent(
        """\
        type: pipeline
        settings:
          default_compute: azureml:cpu-cluster
        jobs:
          prep:
            type: command
            command: python train.py
            code: ./src
            environment: azureml:sklearn:1
          train:
            type: command
            command: python train.py
            code: ./src
            environment: azureml:sklearn:1
        """
    )
    record = azure_backend.submit(load(tmp_path, pipeline), name="pipe")
    assert record.type == "pipeline" and record.compute == "cpu-cluster"
    assert ("https://ml.azure.com/.default",) in [c.scopes for c in fake_credential.calls]
    first = azure_backend.read_logs("pipe")
    assert "step prep" in first.text and "Starting" in first.text and not first.complete
    got = azure_backend.get_job("pipe")
    assert sorted(c.step_name for c in got.children) == ["prep", "train"]
    assert {c.parent_name for c in got.children} == {"pipe"}
    more = azure_backend.read_logs("pipe", first.next_offset)
    assert more.offset == first.next_offset and "Queued" in more.text and "Starting" not in more.text
    for _ in range(3):
        azure_backend.get_job("pipe")
    rest = azure_backend.read_logs("pipe", more.next_offset)
    assert rest.complete and rest.text.rstrip().endswith("pipeline pipe Completed")


def test_cancel_does_not_wait_for_the_long_running_operation(azure_backend, azure_env, tmp_path):
    fake = azure_env.fake
    fake.hold_job("long", at="Running")
    azure_backend.submit(load(tmp_path), name="long")
    azure_backend.get_job("long")
    azure_backend.get_job("long")
    record = azure_backend.cancel_job("long")
    assert record.status is JobStatus.CANCEL_REQUESTED
    assert routes(fake)[-2:] == ["jobs.get", "jobs.cancel"]  # no mfeOperationResults poll
    assert azure_backend.get_job("long").status is JobStatus.CANCELED
    with pytest.raises(Conflict):
        azure_backend.cancel_job("long")


def test_job_names_are_checked_and_unique(azure_backend, azure_env, tmp_path):
    with pytest.raises(InvalidRequest):
        azure_backend.submit(load(tmp_path), name="no spaces allowed")
    azure_backend.submit(load(tmp_path), name="once")
    puts = azure_env.fake.count("jobs.put")
    with pytest.raises(Conflict):
        azure_backend.submit(load(tmp_path), name="once")
    assert azure_env.fake.count("jobs.put") == puts


def submit_many(backend, tmp_path, count: int) -> list[str]:
    job = load(tmp_path)
    names = [f"job-{i:02d}" for i in range(count)]
    for name in names:
        backend.submit(job, name=name)
    return names


def test_list_jobs_follows_the_service_pages_without_gaps_or_repeats(azure_backend, azure_env, tmp_path):
    names = submit_many(azure_backend, tmp_path, 23)  # the fake pages by 20
    listed, cursor, pages = [], None, 0
    while True:
        page = azure_backend.list_jobs(limit=7, cursor=cursor)
        listed += [j.name for j in page.jobs]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
        token = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert token["t"] is None or "$skipToken=" in urllib.parse.unquote(token["t"])
    assert listed == list(reversed(names)) and pages == 4
    assert azure_backend.list_jobs(limit=23).next_cursor is None


def test_list_jobs_filters_by_status_and_by_this_extensions_tag(azure_backend, azure_env, tmp_path):
    from azure.ai.ml import command

    submit_many(azure_backend, tmp_path, 3)
    azure_backend.get_job("job-01")  # Queued
    client = azure_backend.ml_client
    client.jobs.create_or_update(
        command(name="by-hand", command="echo", environment="azureml:sklearn:1", compute="cpu-cluster")
    )
    assert [j.name for j in azure_backend.list_jobs(status=["queued"]).jobs] == ["job-01"]
    assert "by-hand" in [j.name for j in azure_backend.list_jobs().jobs]
    mine = azure_backend.list_jobs(mine=True)
    assert [j.name for j in mine.jobs] == ["job-02", "job-01", "job-00"]
    assert "tag=azml_jupyter" in azure_env.fake.requests_for("jobs.list")[-1].url


def test_a_cursor_cannot_send_the_users_token_elsewhere(azure_backend, azure_env):
    for url in (
        "https://evil.example/subscriptions/x/jobs",
        "http://management.azure.com/anything",
        "https://management.azure.com/subscriptions/other/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws/jobs?$skipToken=1",
    ):
        cursor = base64.urlsafe_b64encode(json.dumps({"t": url, "i": 0}).encode()).decode()
        with pytest.raises(InvalidRequest):
            azure_backend.list_jobs(cursor=cursor)
    assert azure_env.fake.requests == []


def test_outputs_listed_and_downloaded(azure_backend, azure_env, tmp_path):
    azure_backend.submit(load(tmp_path), name="trained")
    azure_env.put_artifact("trained", "outputs/metrics.json", '{"acc": 0.9}')
    azure_env.put_artifact("trained", "user_logs/std_log.txt", "done\n")
    azure_env.put_output("trained", "model", {"model.pkl": b"\x80PICKLE", "meta/info.json": "{}"})
    outputs = {(o.output, o.path, o.size_bytes) for o in azure_backend.list_outputs("trained")}
    assert outputs == {
        ("default", "outputs/metrics.json", 12),
        ("default", "user_logs/std_log.txt", 5),
        ("model", "meta/info.json", 2),
        ("model", "model.pkl", 7),
    }
    written = azure_backend.download("trained", tmp_path / "dl")
    assert sorted(p.relative_to(tmp_path / "dl").as_posix() for p in written) == [
        "artifacts/outputs/metrics.json",
        "artifacts/user_logs/std_log.txt",
    ]
    azure_backend.download("trained", tmp_path / "dl", output="model")
    assert (tmp_path / "dl" / "named-outputs" / "model" / "meta" / "info.json").read_text() == "{}"
    assert not list((tmp_path / "dl").rglob("*.part"))


def test_empty_named_output_is_refused_and_unknown_output_is_not_found(azure_backend, azure_env, tmp_path):
    azure_backend.submit(load(tmp_path), name="fresh")
    with pytest.raises(InvalidRequest, match="no data"):
        azure_backend.download("fresh", tmp_path / "dl", output="model")
    with pytest.raises(NotFound, match="default, model"):
        azure_backend.download("fresh", tmp_path / "dl", output="weights")


def test_download_streams_to_disk_with_the_users_token(
    azure_env, fake_credential, fake_transport, backend_home, tmp_path, monkeypatch
):
    """Without a blob_service_factory the backend uses the datastore's account with the user's token
    (Entra ID; no account key, no listSecrets), and streams with readinto, never readall."""
    from azure.storage.blob import StorageStreamDownloader

    backend = make_azure_backend(azure_env, fake_credential, fake_transport, backend_home, blob_service_factory=None)
    fake = azure_env.fake
    backend.submit(load(tmp_path), name="big-output")
    payload = bytes(range(256)) * (40 * 4096)  # 40 MiB: more than one 32 MiB chunk
    fake.put_job_output("big-output", "model", {"weights.bin": payload})

    def refuse(*args, **kwargs):
        raise AssertionError("downloads must stream to the file, not buffer the blob")

    monkeypatch.setattr(StorageStreamDownloader, "readall", refuse)
    monkeypatch.setattr(StorageStreamDownloader, "content_as_bytes", refuse)
    [path] = backend.download("big-output", tmp_path / "dl", output="model")
    assert path.read_bytes() == payload
    gets = [r for r in fake.requests_for("blob.get") if "weights.bin" in r.url]
    assert len(gets) >= 2 and all(r.headers.get("x-ms-range") for r in gets)
    storage = [r for r in fake.requests if r.host_kind == "blob" and "big-output/model" in r.url]
    assert storage and all(r.headers.get("Authorization", "").startswith("Bearer ") for r in storage)
    assert fake.count("datastore.secrets") == 0
    backend.close()


# ---- data --------------------------------------------------------------------------------------------


def test_copy_in_registers_a_datastore_uri_after_every_file_is_stored(azure_backend, azure_env, tmp_path):
    fake = azure_env.fake
    folder = tmp_path / "sales"
    folder.mkdir()
    for i in range(5):
        (folder / f"part-{i}.csv").write_text(f"{i}\n" * 100)
    seen_at_registration: list[list[str]] = []
    route = next(r for r in fake.routes if r.name == "asset.put")
    original = route.handler

    def spy(req):
        if req.group("kind") == "data":
            seen_at_registration.append(sorted(b.name for b in azure_env.container().list_blobs()))
        return original(req)

    route.handler = spy
    done = wait_op(azure_backend, azure_backend.copy_in(folder, "sales", version="3", description="Q3"))
    assert done.state is OperationState.SUCCEEDED, done.error
    prefix = "azml-jupyter/data/sales/3/sales/"
    # every file, and the manifest written after the last of them, were there before the asset was registered
    manifest = "azml-jupyter/data/sales/3/.azml-manifest.json"
    assert seen_at_registration == [sorted([manifest] + [f"{prefix}part-{i}.csv" for i in range(5)])]
    body = fake.assets[("data", "sales")]["3"]["properties"]
    assert body["dataUri"] == f"azureml://datastores/workspaceblobstore/paths/{prefix}"
    assert body["dataType"] == "uri_folder" and body["description"] == "Q3"
    assert body["properties"] == {"azml_jupyter.size_bytes": "1000", "azml_jupyter.file_count": "5"}
    assert fake.count("datastore.secrets") == 0  # identity-based: no account key or SAS was asked for
    assert azure_env.factory_calls == [(fake.storage_account, f"https://{fake.storage_account}.blob.core.windows.net")]


def test_a_failed_upload_registers_nothing(azure_env, fake_credential, fake_transport, backend_home, tmp_path):
    backend = make_azure_backend(
        azure_env,
        fake_credential,
        fake_transport,
        backend_home,
        blob_service_factory=None,
        uploader_options={"use_async": False},  # the fake's storage hook serves requests, not aiohttp
    )
    fake = azure_env.fake
    fake.fail("blob.put", 500, times=1000)
    (tmp_path / "f.csv").write_text("x\n")
    done = wait_op(backend, backend.copy_in(tmp_path / "f.csv", "broken"))
    assert done.state is OperationState.FAILED
    assert "unavailable" in done.error.lower()
    assert ("data", "broken") not in fake.assets
    backend.close()


def test_copy_in_cancel_registers_nothing(azure_backend, azure_env, tmp_path, monkeypatch):
    import threading

    from azml_jupyter.backends import blob_upload

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i}.txt").write_text(str(i))
    started = threading.Event()
    operation_id: list[str] = []
    original = blob_upload.ProgressReporter.advance

    def cancel_midway(self, nbytes, *, file_done=False):
        original(self, nbytes, file_done=file_done)
        if self.progress.files_done == 3 and started.wait(30):
            azure_backend.cancel_operation(operation_id[0])

    monkeypatch.setattr(blob_upload.ProgressReporter, "advance", cancel_midway)
    operation = azure_backend.copy_in(folder, "many")
    operation_id.append(operation.id)
    started.set()
    done = wait_op(azure_backend, operation)
    assert done.state is OperationState.CANCELED
    assert ("data", "many") not in azure_env.fake.assets
